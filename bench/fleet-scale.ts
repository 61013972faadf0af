/**
 * The fleet at scale, in one run: N real agents (default 100), each in its own kernel binfmt_misc
 * sandbox, joined to the web server (scripts/serve.ts: pages, API, job runner) on SQLite, or on a
 * throwaway PostgreSQL database with --postgresql (on BINFLEET_PG_URL's server).
 *   pnpm exec tsx bench/fleet-scale.ts [--agents 100] [--sessions 50] [--postgresql]
 *     [--concurrency 8] [--heartbeat-ms 1000] [--steady-s 120] [--flap-s 240] [--flap-hosts 10]
 * Prints, then sums up in one table:
 * 1. start + join time of the fleet;
 * 2. a reset + register job over every host: wall, per-host p50/p95/max, errors;
 * 3. --sessions signed-in dashboard sessions (each its own cookie) reading the fleet page in a loop,
 *    the HTML of /fleet and the one batched tRPC request the page sends: latency p50/p95 and errors,
 *    on the idle fleet (the reference) and while a second job runs (the ratio);
 * 4. heartbeats: the server's CPU (from /proc/PID/stat of its processes, % of one core) at the
 *    default interval (15 s), then, after a restart of the server with --heartbeat-ms, with unchanged
 *    kernels (snapshot rows must not grow) and with an entry flapping on --flap-hosts hosts (rows
 *    must stay capped per host by pruning); DB size and rows at start and end, growth per hour.
 * Heartbeats handled are counted by sampling every host's lastSeenAt 4 times a second.
 */
import { statSync, writeFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ApiClient } from '../apps/web/src/server/testing/api-client.ts';
import { startFleet, type Fleet } from '../apps/web/src/server/testing/fleet.ts';
import { cpuMs } from '../packages/test-sandbox/src/index.ts';
import { FLEET_PAGE_LOAD, percentile, runJob, trpcPath, type JobFigures } from './lib/fleet-figures.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '100' },
    sessions: { type: 'string', default: '50' },
    postgresql: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '8' },
    'start-concurrency': { type: 'string', default: '10' },
    'idle-s': { type: 'string', default: '20' },
    'default-s': { type: 'string', default: '60' },
    'heartbeat-ms': { type: 'string', default: '1000' },
    'steady-s': { type: 'string', default: '120' },
    'flap-s': { type: 'string', default: '240' },
    'flap-hosts': { type: 'string', default: '10' },
  },
});
const N = Number(values.agents);
const SESSIONS = Number(values.sessions);
const DEFAULT_HEARTBEAT_MS = 15_000;
const HEARTBEAT_MS = Number(values['heartbeat-ms']);
// HostService keeps this many snapshots per host (SNAPSHOTS_KEPT).
const SNAPSHOTS_KEPT = 50;
const summary: { figure: string; value: string }[] = [];
const note = (figure: string, value: string) => {
  summary.push({ figure, value });
  console.log(`${figure}: ${value}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (x: number) => `${Math.round(x)} ms`;

const fleet = await startFleet({
  agents: N,
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
  database: values.postgresql ? 'postgresql' : 'sqlite',
  server: 'next',
  heartbeatIntervalMs: DEFAULT_HEARTBEAT_MS,
  startConcurrency: Number(values['start-concurrency']),
  env: { BINFLEET_RUNNER_CONCURRENCY: values.concurrency! },
  log: (line) => console.log(`  ${line}`),
  stopOnSignals: true,
});
const sqlite = fleet.databaseUrl.startsWith('file:');
try {
  console.log(`\n== ${N} agents, web server on ${sqlite ? 'SQLite' : 'PostgreSQL'}`);
  note('start + join', `${N} agents in ${(fleet.joinMs / 1000).toFixed(1)} s`);

  console.log('\n== reset + register job over every host, fleet otherwise idle');
  // The first job is also every agent's first call (lazy modules, cold caches); the second one is
  // the reference for the job under load.
  const cold = await runJob(fleet);
  noteJob('job, first (cold agents)', cold);
  const job1 = await runJob(fleet);
  noteJob('job, idle fleet', job1);

  console.log(`\n== ${SESSIONS} dashboard sessions reading /fleet`);
  const sessions: ApiClient[] = [];
  for (let i = 0; i < SESSIONS; i++)
    sessions.push(await ApiClient.signIn(fleet.url, fleet.admin.username, fleet.admin.password));
  const idle = await dashboard(sessions, sleep(Number(values['idle-s']) * 1000));
  report('dashboard, idle fleet', idle);
  let jobDuringLoad: JobFigures | undefined;
  const loaded = await dashboard(
    sessions,
    runJob(fleet).then((j) => void (jobDuringLoad = j)),
  );
  report('dashboard, during a job', loaded);
  note(
    'dashboard ratio (job / idle)',
    `HTML p50 x${(loaded.html.p50 / idle.html.p50).toFixed(2)} p95 x${(loaded.html.p95 / idle.html.p95).toFixed(2)}; tRPC p50 x${(loaded.trpc.p50 / idle.trpc.p50).toFixed(2)} p95 x${(loaded.trpc.p95 / idle.trpc.p95).toFixed(2)}`,
  );
  noteJob('job, under dashboard load', jobDuringLoad!, job1);

  console.log(`\n== heartbeats at the default interval (${DEFAULT_HEARTBEAT_MS / 1000} s)`);
  const atDefault = await heartbeatPhase(Number(values['default-s']) * 1000);
  reportHeartbeats(`heartbeats every ${DEFAULT_HEARTBEAT_MS / 1000} s`, atDefault, DEFAULT_HEARTBEAT_MS);

  console.log(`\n== server restarted with a heartbeat interval of ${HEARTBEAT_MS} ms`);
  await fleet.restartServer({ BINFLEET_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) });
  // Agents learn the new interval from the next heartbeat the server answers (one may fail during
  // the restart and back off): wait until every host beat three times at the short interval.
  const settleStarted = Date.now();
  await heartbeatPhase(0, (beats) => beats.every((b) => b >= 3));
  console.log(
    `  every host on the short interval after ${((Date.now() - settleStarted) / 1000).toFixed(1)} s`,
  );

  console.log('\n== unchanged kernels');
  const steady = await heartbeatPhase(Number(values['steady-s']) * 1000);
  reportHeartbeats(`heartbeats every ${HEARTBEAT_MS} ms, unchanged kernels`, steady, HEARTBEAT_MS);
  note(
    'snapshots, unchanged kernels',
    `${steady.start.snapshots} -> ${steady.end.snapshots} rows (${steady.end.snapshots === steady.start.snapshots ? 'no growth: bounded' : 'GREW'})`,
  );
  // The CPU a heartbeat costs: the difference between the two intervals over the difference in beats.
  const marginal =
    ((steady.cpuPercent - atDefault.cpuPercent) * 10) / (steady.beatsPerSecond - atDefault.beatsPerSecond);
  note(
    'heartbeat cost',
    `server CPU x${(steady.cpuPercent / atDefault.cpuPercent).toFixed(1)} at ${HEARTBEAT_MS} ms vs the ${DEFAULT_HEARTBEAT_MS / 1000} s default; ${marginal.toFixed(2)} ms of server CPU per heartbeat`,
  );

  const flapHosts = fleet.hosts.slice(0, Number(values['flap-hosts']));
  console.log(`\n== an entry flapping (disabled/enabled) on ${flapHosts.length} hosts`);
  // A change at least every heartbeat: every beat brings a view the server has not stored yet.
  const flipping = flap(flapHosts, Math.round(HEARTBEAT_MS * 0.8));
  const flapped = await heartbeatPhase(Number(values['flap-s']) * 1000, undefined, true);
  const steps = await flipping.stop();
  const flapBeats = flapHosts.map((h) => flapped.beatsOf.get(h.hostId) ?? 0);
  reportHeartbeats(
    `heartbeats every ${HEARTBEAT_MS} ms, ${flapHosts.length} hosts flapping`,
    flapped,
    HEARTBEAT_MS,
  );
  const perHost = await fleet.db.hostSnapshot.groupBy({
    by: ['hostId'],
    where: { hostId: { in: flapHosts.map((h) => h.hostId) } },
    _count: { _all: true },
  });
  const maxRows = Math.max(...perHost.map((r) => r._count._all));
  note(
    'snapshots, flapping',
    `${flapped.start.snapshots} -> ${flapped.end.snapshots} rows; ${steps} kernel changes and ${Math.min(...flapBeats)}-${Math.max(...flapBeats)} heartbeats (each a new view) per flapping host, at most ${maxRows} rows kept per host (cap ${SNAPSHOTS_KEPT}: ${maxRows <= SNAPSHOTS_KEPT ? 'bounded' : 'NOT bounded'}); rows over time ${flapped.rowsOverTime.join(' ')}`,
  );

  console.log('\n== summary');
  console.table(summary);
} finally {
  await fleet.stop();
}

interface Latencies {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
}
interface DashboardFigures {
  readonly seconds: number;
  readonly html: Latencies;
  readonly trpc: Latencies;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly serverCpuPercent: number;
}

/** Every session reads the fleet page in a loop (HTML, then the page's batched request) until `done`. */
async function dashboard(clients: readonly ApiClient[], done: Promise<unknown>): Promise<DashboardFigures> {
  let finished = false;
  // Settles either way; a rejection reaches the caller through `await done` below (and its finally
  // stops the fleet), never as an unhandled rejection that would end the process before that.
  const end = () => void (finished = true);
  done.then(end, end);
  const html: number[] = [];
  const trpc: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const failed = (what: string) => {
    errors++;
    firstError ??= what;
  };
  const batch = trpcPath(FLEET_PAGE_LOAD);
  const cpu0 = serverCpu();
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (!finished) {
        for (const [path, into] of [
          ['/fleet', html],
          [batch, trpc],
        ] as const) {
          const started = performance.now();
          try {
            const response = await client.raw(path, { redirect: 'manual' });
            const body = await response.text();
            if (response.status !== 200) failed(`${path.slice(0, 40)}: HTTP ${response.status}`);
            else if (path === '/fleet' && !body.includes('<html')) failed('/fleet: not a page');
            else into.push(performance.now() - started);
          } catch (error) {
            failed(`${path.slice(0, 40)}: ${(error as Error).message}`);
          }
        }
      }
    }),
  );
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const lat = (xs: number[]) => ({ count: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95) });
  return {
    seconds,
    html: lat(html),
    trpc: lat(trpc),
    errors,
    firstError,
    serverCpuPercent: ((serverCpu() - cpu0) / (seconds * 1000)) * 100,
  };
}

function noteJob(figure: string, j: JobFigures, reference?: JobFigures) {
  note(
    figure,
    `${j.status}, ${j.rows} rows, wall ${ms(j.wallMs)}${reference ? ` (x${(j.wallMs / reference.wallMs).toFixed(2)} idle)` : ''}, per host p50 ${ms(j.p50)} p95 ${ms(j.p95)} max ${ms(j.max)}, errors ${j.errors}${j.firstError ? ` (${j.firstError})` : ''}, runner concurrency ${values.concurrency}`,
  );
}

function report(figure: string, d: DashboardFigures) {
  note(
    figure,
    `${d.seconds.toFixed(0)} s, ${(d.html.count / d.seconds).toFixed(1)} page loads/s, HTML /fleet p50 ${ms(d.html.p50)} p95 ${ms(d.html.p95)} (${d.html.count}), batched tRPC p50 ${ms(d.trpc.p50)} p95 ${ms(d.trpc.p95)} (${d.trpc.count}), errors ${d.errors}${d.firstError ? ` (${d.firstError})` : ''}, server CPU ${d.serverCpuPercent.toFixed(0)}% of a core`,
  );
}

function serverCpu(): number {
  return cpuMs(fleet.server.pids());
}

interface DbFigures {
  readonly bytes: number;
  readonly snapshots: number;
  readonly auditEvents: number;
}

async function dbFigures(f: Fleet): Promise<DbFigures> {
  let bytes: number;
  if (sqlite) {
    // What the database holds, not how far the write-ahead log grew since its last checkpoint.
    await f.db.$queryRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)');
    const file = f.databaseUrl.slice('file:'.length);
    const size = (p: string) => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    bytes = size(file) + size(`${file}-wal`);
  } else {
    const [row] = await f.db.$queryRawUnsafe<{ size: bigint }[]>(
      'SELECT pg_database_size(current_database()) AS size',
    );
    bytes = Number(row!.size);
  }
  return {
    bytes,
    snapshots: await f.db.hostSnapshot.count(),
    auditEvents: await f.db.auditEvent.count(),
  };
}

interface HeartbeatFigures {
  readonly seconds: number;
  readonly beats: number;
  readonly beatsPerSecond: number;
  readonly cpuPercent: number;
  readonly start: DbFigures;
  readonly end: DbFigures;
  readonly rowsOverTime: number[];
  /** Heartbeats counted per host id. */
  readonly beatsOf: Map<string, number>;
}

/**
 * Counts heartbeats by sampling every host's lastSeenAt (each heartbeat sets it) for `durationMs`,
 * or until `enough(beats per host)`, with the server's CPU and the database at start and end.
 */
async function heartbeatPhase(
  durationMs: number,
  enough?: (beats: number[]) => boolean,
  trackRows = false,
): Promise<HeartbeatFigures> {
  const index = new Map(fleet.hosts.map((h, i) => [h.hostId, i]));
  const last = new Map<string, number>();
  const beats = new Array<number>(fleet.hosts.length).fill(0);
  const rowsOverTime: number[] = [];
  const start = await dbFigures(fleet);
  const cpu0 = serverCpu();
  const t0 = performance.now();
  let nextRows = 0;
  for (;;) {
    for (const h of await fleet.db.host.findMany({ select: { id: true, lastSeenAt: true } })) {
      const seen = h.lastSeenAt?.getTime() ?? 0;
      const before = last.get(h.id);
      if (before !== undefined && seen !== before) beats[index.get(h.id)!]!++;
      last.set(h.id, seen);
    }
    const elapsed = performance.now() - t0;
    if (trackRows && elapsed >= nextRows) {
      rowsOverTime.push(await fleet.db.hostSnapshot.count());
      nextRows += durationMs / 6;
    }
    if (enough ? enough(beats) : elapsed >= durationMs) break;
    if (enough && elapsed > 120_000) throw new Error(`hosts did not settle: beats ${beats.join(',')}`);
    await sleep(250);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuPercent = ((serverCpu() - cpu0) / (seconds * 1000)) * 100;
  const end = await dbFigures(fleet);
  if (trackRows) rowsOverTime.push(end.snapshots);
  const total = beats.reduce((a, b) => a + b, 0);
  return {
    seconds,
    beats: total,
    beatsPerSecond: total / seconds,
    cpuPercent,
    start,
    end,
    rowsOverTime,
    beatsOf: new Map(fleet.hosts.map((h, i) => [h.hostId, beats[i]!])),
  };
}

function reportHeartbeats(figure: string, h: HeartbeatFigures, intervalMs: number) {
  const perHour = (a: number, b: number) => ((b - a) / h.seconds) * 3600;
  note(
    figure,
    `${h.seconds.toFixed(0)} s, ${h.beatsPerSecond.toFixed(1)} beats/s handled (nominal ${((N * 1000) / intervalMs).toFixed(1)}; one beat per host every ${((N * h.seconds) / Math.max(1, h.beats)).toFixed(1)} s), server CPU ${h.cpuPercent.toFixed(1)}% of a core; DB ${(h.start.bytes / 1048576).toFixed(2)} -> ${(h.end.bytes / 1048576).toFixed(2)} MiB (${(perHour(h.start.bytes, h.end.bytes) / 1048576).toFixed(1)} MiB/h), snapshots ${h.start.snapshots} -> ${h.end.snapshots} (${perHour(h.start.snapshots, h.end.snapshots).toFixed(0)}/h), audit rows ${h.start.auditEvents} -> ${h.end.auditEvents}`,
  );
}

/**
 * Changes each host's kernel every `everyMs`: step k disables entry k (cycling through the host's
 * entries) and enables the one before, so consecutive heartbeats always report different entries,
 * as a host whose entries keep changing would. Writes the entry files in the host's private
 * binfmt_misc, as `echo 0 > /proc/sys/fs/binfmt_misc/NAME` would inside.
 */
function flap(hosts: Fleet['hosts'], everyMs: number) {
  const names = hosts.map((h) => {
    const found = readdirSync(h.sandbox!.hostMountPoint).filter((n) => n !== 'register' && n !== 'status');
    if (found.length < 2) throw new Error(`host ${h.index} has fewer than 2 entries to flap`);
    return found;
  });
  let steps = 0;
  let stopped = false;
  const write = (i: number, step: number, value: '0' | '1') => {
    const list = names[i]!;
    writeFileSync(`${hosts[i]!.sandbox!.hostMountPoint}/${list[step % list.length]}`, value);
  };
  const loop = (async () => {
    while (!stopped) {
      hosts.forEach((_, i) => {
        if (steps > 0) write(i, steps - 1, '1');
        write(i, steps, '0');
      });
      steps++;
      await sleep(everyMs);
    }
    hosts.forEach((_, i) => write(i, steps - 1, '1'));
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return steps;
    },
  };
}

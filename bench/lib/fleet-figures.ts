/** What the fleet benches measure on a fleet from apps/web/src/server/testing/fleet.ts. */
import { startFleet, type Fleet } from '../../apps/web/src/server/testing/fleet.ts';
import { isFinished } from '../../apps/web/src/shared/run-status.ts';

/** the web server (scripts/serve.ts; built when stale) on a new SQLite database, no agents, no job runner: what the flood benches hit. */
export const startNextOnly = (name: string): Promise<Fleet> =>
  startFleet({
    name,
    database: 'sqlite',
    server: 'next',
    agents: 0,
    env: { BINFLEET_RUNNER: 'off' },
    log: (line) => console.log(line),
  });

export const percentile = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

/**
 * A GET as the browser's tRPC client sends it (superjson: plain JSON inputs travel as `{json}`); one
 * procedure, or several batched into one request (httpBatchLink).
 */
export function trpcPath(calls: readonly { path: string; input?: unknown }[]): string {
  if (calls.length === 1) {
    const [c] = calls;
    const q =
      c!.input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify({ json: c!.input }))}`;
    return `/api/trpc/${c!.path}${q}`;
  }
  const inputs = Object.fromEntries(
    calls.flatMap((c, i) => (c.input === undefined ? [] : [[i, { json: c.input }]])),
  );
  return `/api/trpc/${calls.map((c) => c.path).join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`;
}

/** The fleet page's first page of hosts, as the page asks for it without filters. */
export const FLEET_FIRST_PAGE = { filter: {}, offset: 0, limit: 50 };

/** What the fleet page asks for when it opens, in the order its components mount. */
export const FLEET_PAGE_LOAD = [
  { path: 'fleet.summary' },
  { path: 'fleet.hosts', input: FLEET_FIRST_PAGE },
  { path: 'fleet.drift' },
  { path: 'fleet.coverage' },
];

export interface JobFigures {
  readonly id: string;
  readonly status: string;
  readonly rows: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly wallMs: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/**
 * A reset + register (persistent, flags from the arch table) job over every host: created through
 * the API, followed until final, then each row's own time read from the database. The wall time is
 * the job's createdAt -> finishedAt.
 */
export async function runJob(fleet: Fleet, onStarted?: (id: string) => void): Promise<JobFigures> {
  const { api } = fleet;
  // Prisma plans a query shape at its first use (hundreds of ms of CPU in the profile of a first job):
  // the bench pays that for its own reads before the job, not on the cores the job runs on.
  await readJob(fleet, '');
  await readRows(fleet, '');
  const { id } = await api.ok(
    api.mutation<{ id: string }>('jobs.create', {
      params: { kind: 'reset-register', persistent: true },
      selection: { all: true },
    }),
  );
  onStarted?.(id);
  // Followed in the database (a status read, not the API's whole job with its rows), so that following
  // it costs the server nothing; the wall time is the job's own, from its row, not rounded to the poll.
  let job = { status: 'queued', createdAt: new Date(), finishedAt: null as Date | null };
  while (!isFinished(job.status)) {
    await new Promise((r) => setTimeout(r, 50));
    job = (await readJob(fleet, id))!;
  }
  const status = job.status;
  const wallMs = job.finishedAt!.getTime() - job.createdAt.getTime();
  const rows = await readRows(fleet, id);
  const perHost = rows
    .filter((r) => r.startedAt && r.finishedAt)
    .map((r) => r.finishedAt!.getTime() - r.startedAt!.getTime());
  const failed = rows.filter((r) => r.status !== 'succeeded');
  return {
    id,
    status,
    rows: rows.length,
    errors: failed.length,
    firstError: failed[0]?.error ?? null,
    wallMs,
    p50: percentile(perHost, 50),
    p95: percentile(perHost, 95),
    max: Math.max(...perHost),
  };
}

const readJob = (fleet: Fleet, id: string) =>
  fleet.db.job.findUnique({ where: { id }, select: { status: true, createdAt: true, finishedAt: true } });

const readRows = (fleet: Fleet, jobId: string) => fleet.db.jobTarget.findMany({ where: { jobId } });

/**
 * The fleet page's server response at 1,000 hosts (issue 18: median of the batched request under 40 ms
 * on this machine; issue 5 asked for 300 ms).
 * Seeds a throwaway SQLite database with apps/web/scripts/seed-fleet.ts, starts the control plane's
 * API (the same gateway the web server serves, without Next) with its job runner off, signs in, then
 * times each request the fleet page makes, and the one batched request the browser really sends
 * (httpBatchLink), interleaved over --runs rounds after --warmup rounds. auth.me on the same server
 * and session is the reference: the cost of a request that reads almost nothing.
 *   pnpm exec tsx bench/fleet-page.ts [--hosts 1000] [--runs 30] [--warmup 5] [--repo DIR] [--cpu-prof DIR]
 * The server keeps the fleet's read models while the fleet does not change (FleetReadCache), and the
 * seed changes its hosts in one write every 10 s: most requests here are served what was kept. The
 * last request is the batched one right after a host changed (the bench writes one host's row first,
 * outside the timing): always computed, what a fleet whose hosts heartbeat all the time costs (1,000
 * agents every 15 s: ~67 writes/s). That one is the goal's figure; the one before it, mostly kept.
 * --repo measures another checkout of this repository (e.g. an older commit unpacked with its own
 * generated Prisma client), so a change can be compared with what it replaced on the same machine.
 * --cpu-prof writes the server's CPU profile (node --cpu-prof, the measured rounds and the seeding) into DIR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ApiClient } from '../apps/web/src/server/testing/api-client.ts';
import type { startControlPlaneProcess } from '../apps/web/src/server/testing/control-plane-process.ts';
import type * as DbModule from '../packages/db/src/index.ts';
import { seedLiveFleet } from './lib/seeded-fleet.ts';
import { FLEET_FIRST_PAGE, FLEET_PAGE_LOAD, percentile, trpcPath } from './lib/fleet-figures.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    repo: { type: 'string', default: resolve(import.meta.dirname, '..') },
    'cpu-prof': { type: 'string' },
  },
});
const hosts = Number(values.hosts);
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const repo = resolve(values.repo!);

const { startControlPlaneProcess: startServer } = (await import(
  join(repo, 'apps/web/src/server/testing/control-plane-process.ts')
)) as { startControlPlaneProcess: typeof startControlPlaneProcess };
const { ApiClient: Client } = (await import(join(repo, 'apps/web/src/server/testing/api-client.ts'))) as {
  ApiClient: typeof ApiClient;
};

const firstPage = FLEET_FIRST_PAGE;
const filteredPage = {
  filter: { search: 'ams2', online: true, group: 'ci-x86', arch: 'x86_64' },
  offset: 0,
  limit: 50,
};
const pageLoad = FLEET_PAGE_LOAD;
const REQUESTS: readonly { name: string; path: string; changeFirst?: boolean }[] = [
  { name: 'auth.me (reference)', path: trpcPath([{ path: 'auth.me' }]) },
  { name: 'fleet.hosts first 50', path: trpcPath([{ path: 'fleet.hosts', input: firstPage }]) },
  { name: 'fleet.hosts first 50, 4 filters', path: trpcPath([{ path: 'fleet.hosts', input: filteredPage }]) },
  { name: 'fleet.summary', path: trpcPath([{ path: 'fleet.summary' }]) },
  { name: 'fleet.coverage', path: trpcPath([{ path: 'fleet.coverage' }]) },
  { name: 'fleet.drift', path: trpcPath([{ path: 'fleet.drift' }]) },
  { name: 'fleet page load (1 batched request)', path: trpcPath(pageLoad) },
  { name: 'fleet page load, a host changed first', path: trpcPath(pageLoad), changeFirst: true },
];

const { createDb } = (await import(join(repo, 'packages/db/src/index.ts'))) as typeof DbModule;

const dir = mkdtempSync(join(tmpdir(), 'binfleet-bench-page-'));
const admin = { username: 'admin', password: 'bench-password-1' };
const env = {
  DATABASE_URL: `file:${join(dir, 'bench.db')}`,
  BINFLEET_DATA_DIR: dir,
  BINFLEET_ADMIN_USERNAME: admin.username,
  BINFLEET_ADMIN_PASSWORD: admin.password,
  BINFLEET_INSECURE_COOKIES: '1',
  // Only reads are measured: no runner polling the database in between.
  BINFLEET_RUNNER: 'off',
};
const db = createDb(env.DATABASE_URL);
/** A write to one host's row, as a heartbeat that changed something makes. */
const touchHost = async (round: number) => {
  const [host] = await db.host.findMany({ select: { id: true }, skip: round % hosts, take: 1 });
  await db.host.update({ where: { id: host!.id }, data: { kernel: `6.1.${round}` } });
};
// The server migrates the new database and creates the admin the seed needs.
const profile = values['cpu-prof'];
const server = await startServer(
  env,
  0,
  '127.0.0.1',
  profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [],
);
let stopSeed = () => {};
try {
  // --live keeps the hosts seeded as online heartbeating (one UPDATE every 10 s), as a fleet would.
  const seedStarted = performance.now();
  stopSeed = await seedLiveFleet(repo, hosts, env);
  console.log(
    `seeded ${hosts} hosts in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s (${repo})`,
  );

  const api = await Client.signIn(server.url, admin.username, admin.password);
  const total = (await api.ok(api.query<{ total: number }>('fleet.hosts', firstPage))).total;
  if (total !== hosts) throw new Error(`expected ${hosts} hosts, the API sees ${total}`);

  const timings = new Map(REQUESTS.map((r) => [r.name, [] as number[]]));
  const bytes = new Map<string, number>();
  for (let round = 0; round < warmup + runs; round++) {
    for (const r of REQUESTS) {
      if (r.changeFirst) await touchHost(round);
      const t0 = performance.now();
      const response = await api.raw(r.path);
      const body = await response.text();
      const ms = performance.now() - t0;
      if (!response.ok) throw new Error(`${r.name}: HTTP ${response.status}: ${body.slice(0, 300)}`);
      bytes.set(r.name, body.length);
      if (round >= warmup) timings.get(r.name)!.push(ms);
    }
  }

  const reference = percentile(timings.get(REQUESTS[0]!.name)!, 50);
  const rows = REQUESTS.map((r) => {
    const xs = timings.get(r.name)!;
    return {
      request: r.name,
      'median ms': Number(percentile(xs, 50).toFixed(1)),
      'p95 ms': Number(percentile(xs, 95).toFixed(1)),
      'x auth.me': Number((percentile(xs, 50) / reference).toFixed(1)),
      KiB: Number(((bytes.get(r.name) ?? 0) / 1024).toFixed(1)),
    };
  });
  console.log(`${hosts} hosts, ${runs} runs after ${warmup} warm-up rounds, requests interleaved:`);
  console.table(rows);
  const changed = rows.at(-1)!;
  const page = rows.at(-2)!;
  console.log(`fleet page, the batched request mostly served kept (median): ${page['median ms']} ms`);
  console.log(
    `fleet page server response (median of the batched request, a host changed first): ${changed['median ms']} ms; goal < 40 ms: ${changed['median ms'] < 40 ? 'met' : 'NOT met'}`,
  );
} finally {
  await db.$disconnect();
  stopSeed();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

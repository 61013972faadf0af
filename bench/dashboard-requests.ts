/**
 * What each request of a dashboard page load costs the web server (scripts/serve.ts, production
 * build) in CPU, with many sessions at once: the fleet page's HTML, its one batched tRPC request, and
 * `auth.me` (a request that reads almost nothing: the reference, in the same run) and `/login` (a
 * page without a session). Seeds a throwaway SQLite database with apps/web/scripts/seed-fleet.ts
 * (--live: the hosts heartbeat), signs in --sessions sessions, then for each request in turn lets
 * every session send it in a loop for --seconds (after a 3 s warm-up) and reads the server's CPU from
 * /proc: CPU per request is the figure (requests/s follow from it on this machine).
 *   pnpm exec tsx bench/dashboard-requests.ts [--hosts 100] [--sessions 20] [--seconds 12]
 *     [--only 'batched tRPC,/fleet HTML'] [--standalone] [--repo DIR]
 * --standalone serves the same API without Next (apps/web/src/server/standalone.ts): what Next adds.
 * --repo measures another checkout of this repository (its own `pnpm install`; it is built there).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ApiClient } from '../apps/web/src/server/testing/api-client.ts';
import type { ensureWebBuild } from '../apps/web/src/server/testing/fresh-builds.ts';
import type * as WebServerModule from '../apps/web/src/server/testing/web-server.ts';
import { cpuMs } from '../packages/test-sandbox/src/index.ts';
import { seedLiveFleet } from './lib/seeded-fleet.ts';
import { FLEET_PAGE_LOAD, percentile, trpcPath } from './lib/fleet-figures.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '100' },
    sessions: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '12' },
    only: { type: 'string' },
    standalone: { type: 'boolean', default: false },
    repo: { type: 'string', default: resolve(import.meta.dirname, '..') },
  },
});
const repo = resolve(values.repo!);
const web = (await import(join(repo, 'apps/web/src/server/testing/web-server.ts'))) as typeof WebServerModule;
const { ApiClient: Client } = (await import(join(repo, 'apps/web/src/server/testing/api-client.ts'))) as {
  ApiClient: typeof ApiClient;
};
const { ensureWebBuild: ensureBuild } = (await import(
  join(repo, 'apps/web/src/server/testing/fresh-builds.ts')
)) as { ensureWebBuild: typeof ensureWebBuild };

const REQUESTS: readonly { name: string; path: string }[] = [
  { name: 'auth.me (reference)', path: trpcPath([{ path: 'auth.me' }]) },
  { name: '/fleet HTML', path: '/fleet' },
  { name: 'batched tRPC', path: trpcPath(FLEET_PAGE_LOAD) },
  { name: '/login HTML', path: '/login' },
];
const only = values.only?.split(',');
const kind = values.standalone ? 'standalone' : 'next';
// The reference always; pages only where there are pages.
const measured = REQUESTS.filter(
  (r, i) => (i === 0 || !only || only.includes(r.name)) && (kind === 'next' || r.path.startsWith('/api/')),
);

if (kind === 'next') ensureBuild((line) => console.log(line));
const dir = mkdtempSync(join(tmpdir(), 'binfleet-bench-dashboard-'));
const admin = { username: 'admin', password: 'bench-password-1' };
const env = {
  DATABASE_URL: `file:${join(dir, 'bench.db')}`,
  BINFLEET_DATA_DIR: join(dir, 'data'),
  BINFLEET_ADMIN_USERNAME: admin.username,
  BINFLEET_ADMIN_PASSWORD: admin.password,
  BINFLEET_INSECURE_COOKIES: '1',
  // Only reads are measured: no runner polling the database in between.
  BINFLEET_RUNNER: 'off',
};
const server = await web.startWebServer(kind, env, 0);
let stopSeed = () => {};
try {
  stopSeed = await seedLiveFleet(repo, Number(values.hosts), env);
  const clients: ApiClient[] = [];
  for (let i = 0; i < Number(values.sessions); i++)
    clients.push(await Client.signIn(server.url, admin.username, admin.password));

  const rows: Record<string, string | number>[] = [];
  const cpuOf = new Map<string, number>();
  for (const r of measured) {
    // A short warm-up (first renders, query plans), then the measured window.
    await load(clients, r.path, 3);
    const figures = await load(clients, r.path, Number(values.seconds));
    cpuOf.set(r.name, figures.cpuMsPerRequest);
    rows.push({
      request: r.name,
      'requests/s': Number(figures.perSecond.toFixed(1)),
      'server CPU ms/request': Number(figures.cpuMsPerRequest.toFixed(1)),
      'server CPU % of a core': Math.round(figures.cpuPercent),
      'p50 ms': Math.round(figures.p50),
      errors: figures.errors,
    });
  }
  console.log(
    `${kind === 'next' ? 'web server' : 'standalone API'}, ${values.hosts} hosts, ${values.sessions} sessions, ${values.seconds} s per request (${repo}):`,
  );
  console.table(rows);
  const reference = cpuOf.get(REQUESTS[0]!.name)!;
  for (const [name, cpu] of cpuOf)
    if (name !== REQUESTS[0]!.name)
      console.log(`ratio ${name} / auth.me, server CPU per request: ${(cpu / reference).toFixed(2)}`);
  const html = cpuOf.get('/fleet HTML');
  const batch = cpuOf.get('batched tRPC');
  if (html !== undefined && batch !== undefined)
    console.log(
      `fleet page load (HTML + batched tRPC), server CPU: ${(html + batch).toFixed(1)} ms, at most ${(1000 / (html + batch)).toFixed(1)} page loads/s per core`,
    );
} finally {
  stopSeed();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** Every session sends `path` in a loop for `seconds`: rate, latency, errors, the server's CPU. */
async function load(sessions: readonly ApiClient[], path: string, seconds: number) {
  const until = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  const cpu0 = cpuMs(server.pids());
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (client) => {
      while (performance.now() < until) {
        const started = performance.now();
        const response = await client.raw(path, { redirect: 'manual' });
        await response.text();
        if (response.status !== 200) errors++;
        else latencies.push(performance.now() - started);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuMs(server.pids()) - cpu0;
  return {
    perSecond: latencies.length / elapsed,
    cpuMsPerRequest: cpu / Math.max(1, latencies.length),
    cpuPercent: cpu / elapsed / 10,
    p50: percentile(latencies, 50),
    errors,
  };
}

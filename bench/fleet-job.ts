/**
 * One job over a fleet of real agents on this machine, each in its own kernel binfmt_misc sandbox,
 * joined to the control plane (its API and job runner as one process, on SQLite unless DATABASE_URL
 * says otherwise): reset + register with F on every host. Prints the job's wall time and the
 * per-host p50/p95 of the time each host's row took.
 *   pnpm exec tsx bench/fleet-job.ts [--agents 50] [--concurrency 8]
 * The agents run as shipped: the bundle from `pnpm --filter @binfleet/agent build`, rebuilt first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_DIST, REPO, startAgent, type AgentProcess } from '../apps/agent/src/testing/agent-process.ts';
import { ApiClient } from '../apps/web/src/server/testing/api-client.ts';
import { startControlPlaneProcess } from '../apps/web/src/server/testing/control-plane-process.ts';
import { createDb, migrateDeploy } from '../packages/db/src/index.ts';
import { startSandbox, type Sandbox } from '../packages/test-sandbox/src/index.ts';

const { values } = parseArgs({
  options: { agents: { type: 'string', default: '50' }, concurrency: { type: 'string', default: '8' } },
});
const count = Number(values.agents);
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

execFileSync('pnpm', ['--filter', '@binfleet/agent', 'build'], { cwd: REPO, stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'binfleet-bench-fleet-'));
const databaseUrl = process.env.DATABASE_URL ?? `file:${join(dir, 'bench.db')}`;
await migrateDeploy(databaseUrl);
const admin = { username: 'admin', password: 'bench-password-1' };
const server = await startControlPlaneProcess({
  DATABASE_URL: databaseUrl,
  BINFLEET_DATA_DIR: dir,
  BINFLEET_ADMIN_USERNAME: admin.username,
  BINFLEET_ADMIN_PASSWORD: admin.password,
  BINFLEET_INSECURE_COOKIES: '1',
  BINFLEET_HEARTBEAT_INTERVAL_MS: '10000',
  BINFLEET_RUNNER_POLL_MS: '100',
  BINFLEET_RUNNER_CONCURRENCY: values.concurrency!,
});
const sandboxes: Sandbox[] = [];
const agents: AgentProcess[] = [];
try {
  const api = await ApiClient.signIn(server.url, admin.username, admin.password);
  const { token } = await api.ok(
    api.mutation<{ token: string }>('tokens.create', { label: 'bench', expiresInHours: 1, maxUses: count }),
  );
  const startedAgents = Date.now();
  for (let i = 0; i < count; i++) {
    const sandbox = await startSandbox();
    sandboxes.push(sandbox);
    agents.push(
      await startAgent(sandbox, {
        bin: AGENT_DIST,
        stateDir: mkdtempSync(join(dir, 'agent-')),
        args: ['--server', server.url, '--join-token', token, '--reconcile-interval', '1h'],
      }),
    );
  }
  for (;;) {
    const page = await api.ok(api.query<{ total: number }>('fleet.hosts', { limit: 1 }));
    if (page.total === count) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`${count} agents started and joined in ${((Date.now() - startedAgents) / 1000).toFixed(1)} s`);

  const t0 = Date.now();
  const { id } = await api.ok(
    api.mutation<{ id: string }>('jobs.create', {
      params: { kind: 'reset-register', persistent: true },
      selection: { all: true },
    }),
  );
  let status = 'queued';
  while (!['succeeded', 'failed', 'cancelled'].includes(status)) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await api.ok(api.query<{ status: string }>('jobs.get', { id }))).status;
  }
  const wallMs = Date.now() - t0;
  const db = createDb(databaseUrl);
  const rows = await db.jobTarget.findMany({ where: { jobId: id } });
  await db.$disconnect();
  const perHost = rows.map((r) => r.finishedAt!.getTime() - r.startedAt!.getTime());
  const failed = rows.filter((r) => r.status !== 'succeeded');
  console.log(
    `job: reset + register -p yes on ${rows.length} hosts (runner concurrency ${values.concurrency}), status ${status}`,
  );
  console.log(`errors: ${failed.length}${failed.length ? ` (${failed[0]!.error})` : ''}`);
  console.log(
    `per-host row time: p50 ${percentile(perHost, 50)} ms, p95 ${percentile(perHost, 95)} ms, max ${Math.max(...perHost)} ms`,
  );
  console.log(`wall time, job created -> finished: ${wallMs} ms`);
} finally {
  for (const a of agents) await a.stop('SIGKILL').catch(() => undefined);
  for (const s of sandboxes) await s.stop();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

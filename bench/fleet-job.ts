/**
 * One job over a fleet of real agents on this machine, each in its own kernel binfmt_misc sandbox,
 * joined to the control plane (its API and job runner as one process, on SQLite unless DATABASE_URL
 * says otherwise): reset + register with F on every host. Prints the job's wall time and the
 * per-host p50/p95 of the time each host's row took.
 *   pnpm exec tsx bench/fleet-job.ts [--agents 50] [--concurrency 8] [--postgresql] [--transport direct|dial-out]
 *     [--cpu-prof DIR] [--jobs N]
 * --jobs N runs N jobs one after the other and reports the last in full (the earlier ones in a line
 * each): the first job after the fleet starts finds code in the agents and the server not yet compiled.
 * With --transport dial-out the agents listen on nothing and take the job over their channel.
 * --cpu-prof writes the server's CPU profile (node --cpu-prof, the whole run) into DIR.
 * The fleet comes from apps/web/src/server/testing/fleet.ts (agents as shipped: the bundle, rebuilt
 * when stale); bench/fleet-scale.ts measures the same job at 100 agents with the other load figures.
 */
import { parseArgs } from 'node:util';
import { startFleet } from '../apps/web/src/server/testing/fleet.ts';
import { runJob } from './lib/fleet-figures.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '8' },
    postgresql: { type: 'boolean', default: false },
    transport: { type: 'string', default: 'direct' },
    'cpu-prof': { type: 'string' },
    jobs: { type: 'string', default: '1' },
  },
});
const count = Number(values.agents);
if (values.transport !== 'direct' && values.transport !== 'dial-out')
  throw new Error(`--transport ${values.transport}: give direct or dial-out`);

const fleet = await startFleet({
  agents: count,
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
  database: values.postgresql ? 'postgresql' : 'sqlite',
  ...(values.transport === 'dial-out' ? { agent: { args: ['--dial-out'] } } : {}),
  heartbeatIntervalMs: 10_000,
  env: { BINFLEET_RUNNER_POLL_MS: '100', BINFLEET_RUNNER_CONCURRENCY: values.concurrency! },
  ...(values['cpu-prof'] ? { serverNodeArgs: ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] } : {}),
  log: (line) => console.log(line),
  stopOnSignals: true,
});
try {
  console.log(`${count} agents started and joined in ${(fleet.joinMs / 1000).toFixed(1)} s`);
  for (let i = 1; i < Number(values.jobs); i++) {
    const earlier = await runJob(fleet);
    console.log(
      `job ${i} of ${values.jobs}: ${earlier.status}, errors ${earlier.errors}, row p50 ${earlier.p50} ms, wall ${earlier.wallMs} ms`,
    );
  }
  const job = await runJob(fleet);
  console.log(
    `job: reset + register -p yes on ${job.rows} hosts (${values.transport}, runner concurrency ${values.concurrency}), status ${job.status}`,
  );
  console.log(`errors: ${job.errors}${job.firstError ? ` (${job.firstError})` : ''}`);
  console.log(`per-host row time: p50 ${job.p50} ms, p95 ${job.p95} ms, max ${job.max} ms`);
  console.log(`wall time, job created -> finished: ${job.wallMs} ms`);
} finally {
  await fleet.stop();
}

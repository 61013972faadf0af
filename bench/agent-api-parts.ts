/**
 * What each part of the agent's apply costs on a cold call (docs/operations.md, "The floors under the
 * last two goals"): agents started from copies of `serve`'s snapshot script
 * (apps/agent/dist/bin/binfleet-agent-serve-snapshot.cjs) with one part cut out each, beside the agent
 * as built and the bare Node server doing the same kernel work (bench/lib/kernel-floor.ts). Each has a
 * sandbox of its own; all are warmed with 200 calls, then called in turns, each call right after a
 * systemd-binfmt run into a fresh sandbox, as bench/agent-register.ts calls the agent. The cuts are
 * exact strings of the built script: when the agent's code changes, the script says which one no
 * longer matches. They are for measuring only; nothing here is a way to run an agent.
 *   pnpm exec tsx bench/agent-api-parts.ts [--rounds 40] [--parts as-built,no-lock,...]
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSnapshotBlob } from '../apps/agent/scripts/bundling.ts';
import { createAgentClient } from '../apps/agent/src/server/agent-client.ts';
import {
  AGENT_DIST,
  agentBundle,
  startAgent,
  startSandbox,
  type AgentProcess,
  type Sandbox,
} from '../packages/test-sandbox/src/index.ts';
import {
  API_WARMUP,
  BENCH_TOKEN,
  qemuEntries,
  systemdBinfmtRun,
  writeSystemdExport,
} from './lib/binfmt-runs.ts';
import { startKernelFloor } from './lib/kernel-floor.ts';
import { median } from './lib/stats.ts';

/** Each part: the strings replaced in the built script (each must occur exactly once). */
const CUTS: Record<string, ReadonlyArray<readonly [string, string]>> = {
  'no-output-check': [['.output(syncParser(procedure.output))', '']],
  'no-lock': [
    [
      'releaseHost=await this.hostLock?.acquire(label,Math.max(0,deadline-Date.now()));',
      'releaseHost=undefined;',
    ],
  ],
  'no-guard': [
    [
      'const verdict=await guardRegistration(this.host,desired,plan.actions,[...current.values()],options);',
      'const verdict={warnings:[],forcedNative:[]};',
    ],
  ],
  'no-actions-in-answer': [
    [
      'sendJson(res,200,{result:{data}})',
      'sendJson(res,200,{result:{data:path==="applyState"?{...data,actions:[]}:data}})',
    ],
  ],
};
const ALL = 'all-four-cut';
const PARTS = ['as-built', ...Object.keys(CUTS), ALL];

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '40' }, parts: { type: 'string', default: PARTS.join(',') } },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds "${values.rounds}": give a whole number, 1 or more`);
const parts = values.parts.split(',');
for (const part of parts)
  if (!PARTS.includes(part)) throw new Error(`--parts: no part "${part}"; the parts: ${PARTS.join(', ')}`);

/** The built script with `part` cut out, its startup snapshot, and a bin that starts an agent from it. */
async function variantBin(dir: string, script: string, part: string): Promise<string> {
  const cuts = part === ALL ? Object.values(CUTS).flat() : (CUTS[part] ?? []);
  let text = script;
  for (const [from, to] of cuts) {
    const count = text.split(from).length - 1;
    if (count !== 1)
      throw new Error(
        `${part}: "${from}" occurs ${count} times in the built serve script, not once: the agent's code changed; update CUTS in bench/agent-api-parts.ts`,
      );
    text = text.replace(from, to);
  }
  const file = join(dir, `${part}.cjs`);
  const blob = join(dir, `${part}.blob`);
  await writeFile(file, text);
  buildSnapshotBlob(file, blob);
  // As the launcher starts `serve` from its snapshot: process.argv[1] is the bundle, where the agent
  // finds its install.
  const bin = join(dir, part);
  await writeFile(
    bin,
    `#!/bin/sh\nexec "${process.execPath}" --snapshot-blob "${blob}" -- "${AGENT_DIST}" "$@"\n`,
  );
  await chmod(bin, 0o755);
  return bin;
}

async function main() {
  agentBundle();
  const dir = await mkdtemp(join(tmpdir(), 'binfleet-api-parts-'));
  const started: Array<{ sandbox: Sandbox; agent: AgentProcess }> = [];
  try {
    // Every variant is made before any sandbox starts: a cut that no longer matches fails here.
    const script = await readFile(join(dirname(AGENT_DIST), 'binfleet-agent-serve-snapshot.cjs'), 'utf8');
    const bins: string[] = [];
    for (const part of parts) bins.push(await variantBin(dir, script, part));
    const agents: Array<{ part: string; sandbox: Sandbox; call: () => Promise<number>; times: number[] }> =
      [];
    for (const [i, part] of parts.entries()) {
      const sandbox = await startSandbox();
      const agent = await startAgent(sandbox, {
        bin: bins[i]!,
        stateDir: join(dir, `state-${part}`),
        env: { BINFLEET_AGENT_TOKEN: BENCH_TOKEN },
      }).catch(async (error: unknown) => {
        await sandbox.stop();
        throw error;
      });
      started.push({ sandbox, agent });
      const client = createAgentClient(agent.url, BENCH_TOKEN);
      const call = async () => {
        const t = performance.now();
        await client.applyState.mutate({ reset: true, persistent: true });
        return performance.now() - t;
      };
      agents.push({ part, sandbox, call, times: [] });
    }

    const client = createAgentClient(started[0]!.agent.url, BENCH_TOKEN);
    // The export renders the desired state the agent keeps: applied first, its entries carry F.
    const targets = (await client.applyState.mutate({ reset: true, persistent: true })).desired.targets
      .length;
    const { paths, linesFile } = await writeSystemdExport(client, dir);
    const floor = await startKernelFloor(linesFile, targets);
    const floorTimes: number[] = [];
    const systemdTimes: number[] = [];
    try {
      for (let i = 0; i < API_WARMUP; i++) {
        for (const a of agents) await a.call();
        await floor.work();
      }
      // Every variant, the floor and systemd-binfmt (below) leave the same entries as the first agent.
      const expected = qemuEntries(agents[0]!.sandbox);
      for (const { part, sandbox } of [...agents, { part: 'the kernel floor', sandbox: floor.sandbox }])
        if (qemuEntries(sandbox) !== expected)
          throw new Error(`${part} registered other entries than ${agents[0]!.part}`);
      for (let i = 0; i < rounds; i++) {
        for (const a of agents) {
          systemdTimes.push(await systemdBinfmtRun(paths, expected));
          a.times.push(await a.call());
        }
        systemdTimes.push(await systemdBinfmtRun(paths, expected));
        floorTimes.push(await floor.work());
      }
    } finally {
      await floor.stop();
    }

    const systemd = median(systemdTimes);
    console.log(
      `reset + register of ${targets} targets with F, ${rounds} rounds after ${API_WARMUP} warm calls, ` +
        `each call right after a systemd-binfmt run (median ${systemd.toFixed(2)} ms)`,
    );
    for (const { part, times } of [
      ...agents,
      { part: 'bare Node server, the same kernel work', times: floorTimes },
    ])
      console.log(
        `${part}: ${median(times).toFixed(2)} ms, / systemd-binfmt ${(median(times) / systemd).toFixed(2)}`,
      );
  } finally {
    // Each stopped whatever the others do.
    await Promise.allSettled(started.map(({ agent, sandbox }) => agent.stop().finally(() => sandbox.stop())));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

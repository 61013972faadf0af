/**
 * Reset + register every target of this host with F (`--reset -p yes`), each in a private kernel
 * binfmt_misc:
 *   1. through the API of a warm agent (`binfleet-agent serve` running in the sandbox), timed by the client;
 *   2. through the CLI, one `binfleet-agent register --reset -p yes` process per run, each run after a bare
 *      `node -e 0` timed the same way (Node's own start, the CLI's reference);
 *   3. systemd-binfmt loading the same entries (the files of the agent's own systemd export) into a
 *      fresh sandbox each run: the reference, measured in the same run on the same machine, each run
 *      right after an API run (1).
 * Beside 1, the floor under it, timed the same way in turns with systemd-binfmt: a bare Node HTTP
 * server doing the same kernel work without any checks (bench/lib/kernel-floor.ts), and its empty
 * answer. Beside the agent's idle memory, the floors under it: a bare Node HTTP server, and beside
 * one, from startup snapshots (apps/agent/scripts/memory-floors.ts), zod and tRPC's server, and the
 * agent's code loaded with nothing started.
 * The agent runs as the systemd unit runs it: through the packages' launcher (bin/binfleet-agent,
 * here this checkout's dist/launcher), which starts `serve` from the agent's V8 startup snapshot. The
 * CLI runs as the bundle (what the image runs), through the launcher (which starts `register` from
 * the CLI's own snapshot) and from the sources through tsx (`pnpm exec binfleet-agent`). Then the
 * agent's idle memory, from its snapshot and from the bundle, and the ratios last.
 * The bundle runs its light commands from a V8 code cache made by the build (src/cli/code-cache.ts); the
 * same bundle without it (a copy of its folder) runs in the same turns, for what the cache buys.
 *   pnpm exec tsx bench/agent-register.ts [--runs 20] [--cli-runs 20] [--bin FILE]
 * --bin runs another build of the agent (e.g. one of an older commit's bundle) for the agent and the
 * CLI instead of building this one (and skips the launcher, which runs this one).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildAgentCodeFloor,
  buildBareFloor,
  buildLibrariesFloor,
} from '../apps/agent/scripts/memory-floors.ts';
import { codeCacheOf } from '../apps/agent/src/cli/code-cache.ts';
import { createAgentClient } from '../apps/agent/src/server/agent-client.ts';
import {
  AGENT_BIN,
  AGENT_DIST,
  AGENT_LAUNCHER_SNAPSHOTS,
  agentBundle,
  agentLauncher,
  cpuMs,
  kernelSnapshot,
  otherThreadsOnCpuMs,
  startAgent,
  startSandbox,
} from '../packages/test-sandbox/src/index.ts';
import {
  API_WARMUP,
  BENCH_TOKEN,
  qemuEntries,
  systemdBinfmtRun,
  timedInside,
  writeSystemdExport,
} from './lib/binfmt-runs.ts';
import { startKernelFloor } from './lib/kernel-floor.ts';
import { median } from './lib/stats.ts';

/** Agents started (from the snapshot and from the bundle, in turns) for the start and memory figures. */
const IDLE_STARTS = 5;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    'cli-runs': { type: 'string', default: '20' },
    bin: { type: 'string' },
  },
});
const runs = Number(values.runs);
const cliRuns = Number(values['cli-runs']);

const ms = (x: number) => `${x.toFixed(1)} ms`;
const spread = (xs: number[]) => `(min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))})`;
const sleep = (t: number) => new Promise((resolve) => setTimeout(resolve, t));

/**
 * A copy of the bundle's folder without the light commands' code cache, or undefined when the bundle
 * has none (an older build).
 */
async function withoutCodeCache(bin: string, dir: string): Promise<string | undefined> {
  const cache = codeCacheOf(join(dirname(bin), 'binfleet-agent-snapshot.cjs'));
  if (!existsSync(cache)) return undefined;
  const copy = join(dir, 'bundle-without-code-cache');
  await cp(dirname(bin), copy, { recursive: true });
  await rm(join(copy, basename(cache)));
  return join(copy, basename(bin));
}

async function timedRuns(count: number, warmup: number, run: () => Promise<number>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count + warmup; i++) {
    const took = await run();
    if (i >= warmup) times.push(took);
  }
  return times;
}

/** Resident memory in MB: all of it, the process's own (anonymous), and pages of files (node's binary, shared). */
interface Rss {
  readonly total: number;
  readonly anon: number;
  readonly file: number;
}

async function rssOf(pid: number): Promise<Rss> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) / 1024;
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

const showRss = (r: Rss) => `${r.total.toFixed(1)} MB (own ${r.anon.toFixed(1)}, files ${r.file.toFixed(1)})`;

/** An agent started and then left alone for a few seconds. */
interface IdleAgent {
  readonly rss: Rss;
  /** CPU of its start (and the few idle seconds after it). */
  readonly cpuMs: number;
  /** From the start of its process to its listening, as startAgent sees it. */
  readonly listeningMs: number;
}

async function idleAgent(bin: string, dir: string): Promise<IdleAgent> {
  const sandbox = await startSandbox();
  const started = performance.now();
  const agent = await startAgent(sandbox, { bin, stateDir: dir, env: { BINFLEET_AGENT_TOKEN: BENCH_TOKEN } });
  const listeningMs = performance.now() - started;
  try {
    await sleep(3_000);
    return { rss: await rssOf(agent.pid), cpuMs: cpuMs([agent.pid]), listeningMs };
  } finally {
    await agent.stop();
    await sandbox.stop();
  }
}

/** The same for another node process (`args` to this node), left alone for as long. */
async function idleNodeRss(args: readonly string[]): Promise<Rss> {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  try {
    await sleep(3_000);
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `node ${args.join(' ')} ended before its memory was read (${child.exitCode ?? child.signalCode}): ${stderr.trim() || 'no output'}. ` +
          'A floor from a startup snapshot needs Node 20 or newer and a script that builds into one (apps/agent/scripts/memory-floors.ts).',
      );
    return await rssOf(child.pid!);
  } finally {
    child.kill();
  }
}

async function main() {
  // The CLI's bundle, and the agent as the unit runs it (or the other build asked for, for both).
  const bin = values.bin ?? agentBundle();
  const launcher = values.bin === undefined ? agentLauncher() : undefined;
  const agentBin = launcher ?? bin;
  const dir = await mkdtemp(join(tmpdir(), 'binfleet-bench-'));
  // The memory floors' snapshots first: one that cannot be made fails the run before its minutes of
  // measuring.
  let floorBlobs: { bare: string; libraries: string; agentCode: string };
  try {
    floorBlobs = {
      bare: await buildBareFloor(dir),
      libraries: await buildLibrariesFloor(dir),
      agentCode: await buildAgentCodeFloor(dir),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const sandbox = await startSandbox();
  const agent = await startAgent(sandbox, {
    bin: agentBin,
    stateDir: join(dir, 'state'),
    env: { BINFLEET_AGENT_TOKEN: BENCH_TOKEN },
  });
  try {
    const client = createAgentClient(agent.url, BENCH_TOKEN);

    // 1. The warm agent's API; each run removes the previous run's entries and registers them again.
    let targets = 0;
    const apply = async () => {
      const started = performance.now();
      const result = await client.applyState.mutate({ reset: true, persistent: true });
      targets = result.desired.targets.length;
      return performance.now() - started;
    };
    // Warm as a running agent is: V8 compiles a function to optimised code only after it ran many
    // times; 2 calls left the median at about twice the warm figure, 30 with the compiler still busy
    // (docs/operations.md).
    for (let i = 0; i < API_WARMUP; i++) await apply();
    const byAgent = qemuEntries(sandbox);
    const entries = Object.values(kernelSnapshot(sandbox)).filter((text) => /^flags: F$/m.test(text));
    if (entries.length !== targets) throw new Error('the agent did not leave every target registered with F');

    // 3. systemd-binfmt with the agent's own systemd export, each run into a fresh sandbox.
    const { paths, linesFile } = await writeSystemdExport(client, dir);
    const systemdRun = () => systemdBinfmtRun(paths, byAgent);
    // 1 and 3 in turns, like the CLI and node -e 0 below: the load of this shared machine changes from
    // one second to the next, and a ratio of runs taken minutes apart measured that as much as the agent.
    const apiTimes: number[] = [];
    /** CPU of the agent's threads other than its main one during the timed calls (V8's compiler, GC). */
    const otherThreads: number[] = [];
    const systemdTimes = await timedRuns(runs, 0, async () => {
      const before = otherThreadsOnCpuMs(agent.pid);
      apiTimes.push(await apply());
      otherThreads.push(otherThreadsOnCpuMs(agent.pid) - before);
      if (qemuEntries(sandbox) !== byAgent) throw new Error('the agent registered other entries than before');
      return systemdRun();
    });

    // The floor under the API's figure, timed the same way (each call right after a systemd-binfmt
    // run, in turns): a bare Node HTTP server doing the same kernel work, without checks, lock, plan or
    // guard (bench/lib/kernel-floor.ts), and its empty answer, the transport alone. Separate turns:
    // calls of theirs among the agent's would leave the agent idle longer between its own.
    const floor = await startKernelFloor(linesFile, targets);
    const floorTimes: number[] = [];
    const emptyTimes: number[] = [];
    const floorSystemdTimes: number[] = [];
    try {
      for (let i = 0; i < API_WARMUP; i++) {
        await floor.work();
        await floor.empty();
      }
      if (qemuEntries(floor.sandbox) !== byAgent)
        throw new Error('the kernel floor registered other entries than the agent');
      for (let i = 0; i < runs; i++) {
        floorTimes.push(await floor.work());
        floorSystemdTimes.push(await systemdRun());
        emptyTimes.push(await floor.empty());
        floorSystemdTimes.push(await systemdRun());
      }
    } finally {
      await floor.stop();
    }

    // 2. The CLI, one process per run, in the agent's sandbox: reset + register.
    const checked = async (what: string, took: Promise<number>) => {
      const ms = await took;
      if (qemuEntries(sandbox) !== byAgent)
        throw new Error(`${what} registered other entries than the agent`);
      return ms;
    };
    const cli = (bin: string) => () =>
      checked(bin, timedInside(sandbox, 'node', [bin, 'register', '--reset', '-p', 'yes']));
    // The launcher (dist/launcher, as the packages install it), its snapshots in AGENT_LAUNCHER_SNAPSHOTS:
    // the first (warm-up) run makes the CLI's when there is none.
    const launcherTimes: number[] = [];
    const viaLauncher = (bin: string) =>
      checked(
        bin,
        timedInside(sandbox, bin, ['register', '--reset', '-p', 'yes'], {
          BINFLEET_AGENT_SNAPSHOT_DIR: AGENT_LAUNCHER_SNAPSHOTS,
          NODE_OPTIONS: '',
        }),
      );
    // Node's own start, timed the same way right before each bundle run: load on this shared machine
    // varies from one second to the next, so the two are taken in turns.
    const nodeTimes: number[] = [];
    // The bundle as the build leaves it when its node makes no code cache (another node, say).
    const uncachedTimes: number[] = [];
    const uncached = await withoutCodeCache(bin, dir);
    const cliTimes = await timedRuns(cliRuns, 1, async () => {
      nodeTimes.push(await timedInside(sandbox, 'node', ['-e', '0']));
      if (launcher) launcherTimes.push(await viaLauncher(launcher));
      if (uncached) uncachedTimes.push(await cli(uncached)());
      return cli(bin)();
    });
    nodeTimes.shift();
    launcherTimes.shift();
    uncachedTimes.shift();
    if (launcher && !(await readdir(AGENT_LAUNCHER_SNAPSHOTS)).some((f) => /^snapshot-.*\.blob$/.test(f)))
      throw new Error(
        `the launcher made no startup snapshot in ${AGENT_LAUNCHER_SNAPSHOTS}: its runs were the bundle's`,
      );
    const cliTsxTimes = await timedRuns(cliRuns, 1, cli(AGENT_BIN));

    await sleep(3_000);
    const rssAfterRuns = await rssOf(agent.pid);
    // The agent as shipped and its bundle started in turns (the same load for both), then once from
    // the sources.
    const idle: IdleAgent[] = [];
    const idleBundle: IdleAgent[] = [];
    for (let i = 0; i < IDLE_STARTS; i++) {
      idle.push(await idleAgent(agentBin, join(dir, `idle-${i}`)));
      if (launcher) idleBundle.push(await idleAgent(bin, join(dir, `idle-bundle-${i}`)));
    }
    const rssIdleTsx = (await idleAgent(AGENT_BIN, join(dir, 'idle-tsx'))).rss;
    /** The run of median memory, and the medians of start CPU and time to listening. */
    const summary = (runs: readonly IdleAgent[]) => ({
      rss: [...runs].sort((a, b) => a.rss.total - b.rss.total)[Math.floor(runs.length / 2)]!.rss,
      cpuMs: median(runs.map((r) => r.cpuMs)),
      listeningMs: median(runs.map((r) => r.listeningMs)),
    });
    const started = summary(idle);
    const startedBundle = launcher ? summary(idleBundle) : undefined;
    const rssIdle = started.rss;
    const rssBare = await idleNodeRss(['-e', "require('node:http').createServer().listen(0, '127.0.0.1')"]);
    const rssBareSnapshot = await idleNodeRss(['--snapshot-blob', floorBlobs.bare]);
    const rssLibraries = await idleNodeRss(['--snapshot-blob', floorBlobs.libraries]);
    const rssAgentCode = await idleNodeRss(['--snapshot-blob', floorBlobs.agentCode]);

    const [api, cliMedian, cliTsx, systemd, bareNode] = [
      apiTimes,
      cliTimes,
      cliTsxTimes,
      systemdTimes,
      nodeTimes,
    ].map(median) as [number, number, number, number, number];
    console.log(
      `${targets} targets, reset + register with F, each in a private kernel binfmt_misc` +
        (bin === AGENT_DIST ? ' (the agent from its startup snapshot)' : ` (agent and CLI: ${bin})`),
    );
    console.log(
      `agent API, warm (client-timed, after ${API_WARMUP} calls), median of ${apiTimes.length}: ${ms(api)} ${spread(apiTimes)}; ` +
        `the agent's other threads (V8's compiler and GC) meanwhile ${ms(median(otherThreads))} a call`,
    );
    console.log(`CLI process (bundle), median of ${cliTimes.length}: ${ms(cliMedian)} ${spread(cliTimes)}`);
    if (uncachedTimes.length > 0)
      console.log(
        `CLI process (bundle without its code cache), median of ${uncachedTimes.length}: ${ms(median(uncachedTimes))} ${spread(uncachedTimes)}`,
      );
    if (launcherTimes.length > 0) {
      console.log(
        `CLI process (launcher, startup snapshot), median of ${launcherTimes.length}: ${ms(median(launcherTimes))} ${spread(launcherTimes)}`,
      );
    }
    console.log(`bare \`node -e 0\`, median of ${nodeTimes.length}: ${ms(bareNode)} ${spread(nodeTimes)}`);
    console.log(
      `CLI process (sources via tsx), median of ${cliTsxTimes.length}: ${ms(cliTsx)} ${spread(cliTsxTimes)}`,
    );
    console.log(
      `systemd-binfmt into a fresh sandbox, median of ${systemdTimes.length}: ${ms(systemd)} ${spread(systemdTimes)}`,
    );
    console.log(
      `a bare Node HTTP server doing the same kernel work (no checks, no lock), median of ${floorTimes.length}: ` +
        `${ms(median(floorTimes))} ${spread(floorTimes)}; its empty answer (the transport alone): ` +
        `${ms(median(emptyTimes))} ${spread(emptyTimes)}; systemd-binfmt in the same turns: ${ms(median(floorSystemdTimes))}`,
    );
    console.log(
      `agent idle RSS (VmRSS, goal < 50 MB): ${showRss(rssIdle)} after start, ` +
        `${showRss(rssAfterRuns)} idle after the runs; ` +
        (startedBundle ? `from the bundle ${startedBundle.rss.total.toFixed(1)} MB, ` : '') +
        `from the sources via tsx ${rssIdleTsx.total.toFixed(1)} MB after start`,
    );
    console.log(`a bare Node HTTP server's RSS, the same way: ${showRss(rssBare)}`);
    console.log(
      `from startup snapshots beside a bare Node HTTP server (apps/agent/scripts/memory-floors.ts), the same way: ` +
        `nothing more ${showRss(rssBareSnapshot)}; zod and tRPC's server (a one-procedure router) ${showRss(rssLibraries)}; ` +
        `the agent's code loaded, nothing started ${showRss(rssAgentCode)}`,
    );
    const showStart = (s: { cpuMs: number; listeningMs: number }) =>
      `${s.cpuMs.toFixed(0)} ms CPU, listening after ${s.listeningMs.toFixed(0)} ms`;
    console.log(
      `agent start${launcher ? ' (launcher, startup snapshot)' : ''}, median of ${idle.length}: ${showStart(started)}`,
    );
    if (startedBundle)
      console.log(`agent start (bundle), median of ${idleBundle.length}: ${showStart(startedBundle)}`);
    console.log(
      `ratio agent idle RSS / bare Node HTTP server: ${(rssIdle.total / rssBare.total).toFixed(2)}`,
    );
    console.log(
      `ratio agent idle RSS / zod + tRPC + bare HTTP server: ${(rssIdle.total / rssLibraries.total).toFixed(2)}`,
    );
    console.log(
      `ratio agent idle RSS / its code loaded, nothing started: ${(rssIdle.total / rssAgentCode.total).toFixed(2)}`,
    );
    const floorRatio = median(floorTimes) / median(floorSystemdTimes);
    console.log(
      `ratio bare Node server, the same kernel work over HTTP / systemd-binfmt (the API's floor): ${floorRatio.toFixed(2)}`,
    );
    console.log(
      `ratio bare Node server, an empty answer / systemd-binfmt: ${(median(emptyTimes) / median(floorSystemdTimes)).toFixed(2)}`,
    );
    console.log(
      `ratio agent API / its floor (each over systemd-binfmt in its own turns): ${(api / systemd / floorRatio).toFixed(2)}`,
    );
    console.log(`ratio agent API / systemd-binfmt: ${(api / systemd).toFixed(2)}`);
    if (startedBundle)
      console.log(
        `ratio agent start CPU (startup snapshot) / bundle: ${(started.cpuMs / startedBundle.cpuMs).toFixed(2)}`,
      );
    console.log(`ratio CLI (bundle) / systemd-binfmt: ${(cliMedian / systemd).toFixed(2)}`);
    console.log(`ratio CLI (tsx) / systemd-binfmt: ${(cliTsx / systemd).toFixed(2)}`);
    if (uncachedTimes.length > 0)
      console.log(
        `ratio CLI (bundle without its code cache) / node -e 0: ${(median(uncachedTimes) / bareNode).toFixed(2)}`,
      );
    console.log(`ratio CLI (bundle) / node -e 0: ${(cliMedian / bareNode).toFixed(2)}`);
    if (launcherTimes.length > 0) {
      console.log(
        `ratio CLI (launcher, startup snapshot) / node -e 0: ${(median(launcherTimes) / bareNode).toFixed(2)}`,
      );
    }
  } finally {
    await agent.stop();
    await sandbox.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

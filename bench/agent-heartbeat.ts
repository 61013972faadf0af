/**
 * What one heartbeat costs the agent: one real agent (as the systemd unit runs it: the launcher,
 * from the agent's startup snapshot) in a private kernel
 * binfmt_misc with every default target registered, joined to a stand-in control plane started here
 * (the two agentApi mutations, nothing else) that asks for a beat every 100 ms, and answers digests of
 * the facts and entries it took (`held`) as the real one does, so that the agent names unchanged ones
 * by them. Prints the agent's
 * CPU per beat (its threads' on-CPU time, /proc/PID/task/TID/schedstat), and, with the beats held (the stand-in keeps one
 * heartbeat unanswered), the agent's CPU per `status` API call (which reads the kernel's entries
 * once) at the beats' pace, one every interval (each after the agent idled, as a beat is, and as the
 * control plane's health checks call it): the reference, measured on the same process in rounds taken
 * in turns with the beats', the ratio the median of the rounds'. The same calls one after another
 * (warm caches: cheaper) and the agent's CPU at idle are printed too.
 *   pnpm exec tsx bench/agent-heartbeat.ts [--beats 300] [--status-calls 300] [--bin FILE]
 * --bin runs another build of the agent (e.g. one of an older commit's bundle) instead of building this one.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAgentClient } from '../apps/agent/src/server/agent-client.ts';
import {
  AGENT_LAUNCHER,
  agentLauncher,
  onCpuMs,
  startAgent,
  startSandbox,
} from '../packages/test-sandbox/src/index.ts';
import { median } from './lib/stats.ts';

const TOKEN = 'bench-token-0123456789abcdefghijklmnopq';
const INTERVAL_MS = 100;

const { values } = parseArgs({
  options: {
    beats: { type: 'string', default: '300' },
    'status-calls': { type: 'string', default: '300' },
    bin: { type: 'string' },
  },
});
const beats = Number(values.beats);
const statusCalls = Number(values['status-calls']);

const sleep = (t: number) => new Promise((resolve) => setTimeout(resolve, t));
/** Rounds of beats and `status` calls, in turns. */
const ROUNDS = 8;
const fixed = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(', ');

/**
 * The control plane's side of join and heartbeat, as the agent's ControlPlaneClient speaks it (tRPC
 * over HTTP, superjson-style `{json}` bodies). `hold()` leaves the next heartbeat unanswered, so the
 * agent waits without beating, until `release()`.
 */
function startReceiver() {
  const state = {
    beats: 0,
    /** Heartbeats that carried their facts and entries in full (the rest named them by digest). */
    fullBeats: 0,
    holds: {} as { facts?: string; entries?: string },
    lastReport: undefined as Record<string, unknown> | undefined,
    held: undefined as (() => void) | undefined,
    holding: false,
  };
  const answer = (res: ServerResponse, json: unknown) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ result: { data: { json } } }));
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const input = (JSON.parse(body) as { json: Record<string, unknown> }).json;
      if (req.url === '/api/trpc/agentApi.join') {
        answer(res, {
          hostId: 'bench-host',
          agentToken: TOKEN,
          heartbeatToken: 'bench-heartbeat-token-0123456789abcdef',
          heartbeatIntervalMs: INTERVAL_MS,
        });
      } else if (req.url === '/api/trpc/agentApi.heartbeat') {
        state.beats++;
        const named = (input.unchanged ?? {}) as { facts?: string; entries?: string };
        const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');
        let json: Record<string, unknown>;
        if (
          (named.facts !== undefined && named.facts !== state.holds.facts) ||
          (named.entries !== undefined && named.entries !== state.holds.entries)
        ) {
          json = { heartbeatIntervalMs: INTERVAL_MS, resend: true };
        } else {
          if (input.facts !== undefined && input.entries !== undefined) state.fullBeats++;
          state.lastReport = {
            facts: input.facts ?? state.lastReport?.facts,
            entries: input.entries ?? state.lastReport?.entries,
          };
          state.holds = {
            facts: input.facts === undefined ? named.facts : digest(input.facts),
            entries: input.entries === undefined ? named.entries : digest(input.entries),
          };
          json = { heartbeatIntervalMs: INTERVAL_MS, held: state.holds };
        }
        const reply = () => answer(res, json);
        if (state.holding) state.held = reply;
        else reply();
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  return {
    state,
    url: new Promise<string>((resolve) =>
      server.listen(0, '127.0.0.1', () =>
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      ),
    ),
    hold: () => (state.holding = true),
    release: () => {
      state.holding = false;
      state.held?.();
      state.held = undefined;
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function main() {
  const bin = values.bin ?? agentLauncher();
  const dir = await mkdtemp(join(tmpdir(), 'binfleet-bench-'));
  const receiver = startReceiver();
  const sandbox = await startSandbox();
  const agent = await startAgent(sandbox, {
    bin,
    stateDir: join(dir, 'state'),
    // No reconcile pass during the figures: only heartbeats and the reference calls.
    args: ['--server', await receiver.url, '--join-token', 'bench-join-token', '--reconcile-interval', '1h'],
    env: { BINFLEET_AGENT_TOKEN: TOKEN },
  });
  try {
    const client = createAgentClient(agent.url, TOKEN);
    await agent.waitForLog((l) => l.event === 'joined');
    const { desired } = await client.applyState.mutate({ reset: true });

    // Warm-up: the emulators' versions are read once, the first dockerd call loads dockerode; then
    // both paths run until V8 has compiled them as it does for good.
    await until('warm-up beats', () => receiver.state.beats >= 50);
    receiver.hold();
    await until('a held beat', () => receiver.state.held !== undefined);
    for (let i = 0; i < 100; i++) await client.status.query();

    // Rounds of beats, then (beats held) `status` calls, in turns: this machine's speed drifts over a
    // run as much as the figures differ, so each round's ratio compares neighbours; medians printed.
    const beatCpus: number[] = [];
    const statusCpus: number[] = [];
    const inARowCpus: number[] = [];
    const ratios: number[] = [];
    const perRound = (n: number) => Math.max(1, Math.round(n / ROUNDS));
    let beatsSeen = 0;
    let beatWallMs = 0;
    const fullFrom = receiver.state.fullBeats;
    for (let round = 0; round < ROUNDS; round++) {
      receiver.release();
      const beatsFrom = receiver.state.beats;
      const cpuFrom = onCpuMs([agent.pid]);
      const wallFrom = performance.now();
      await until(
        `${perRound(beats)} beats`,
        () => receiver.state.beats >= beatsFrom + perRound(beats),
        perRound(beats) * INTERVAL_MS * 10,
      );
      const seen = receiver.state.beats - beatsFrom;
      const beatCpu = (onCpuMs([agent.pid]) - cpuFrom) / seen;
      beatsSeen += seen;
      beatWallMs += performance.now() - wallFrom;

      receiver.hold();
      await until('a held beat', () => receiver.state.held !== undefined);
      // The reference at the beats' pace (a call every interval, as the control plane's health checks
      // come, each after the agent idled as a beat does), then the same calls one after another.
      const spacedFrom = onCpuMs([agent.pid]);
      for (let i = 0; i < perRound(statusCalls); i++) {
        await sleep(INTERVAL_MS);
        await client.status.query();
      }
      const statusCpu = (onCpuMs([agent.pid]) - spacedFrom) / perRound(statusCalls);
      const inARowFrom = onCpuMs([agent.pid]);
      for (let i = 0; i < perRound(statusCalls); i++) await client.status.query();
      inARowCpus.push((onCpuMs([agent.pid]) - inARowFrom) / perRound(statusCalls));
      beatCpus.push(beatCpu);
      statusCpus.push(statusCpu);
      ratios.push(beatCpu / statusCpu);
    }
    const beatCpu = median(beatCpus);
    const statusCpu = median(statusCpus);
    const beatRate = (beatsSeen * 1000) / beatWallMs;
    const fullBeats = receiver.state.fullBeats - fullFrom;
    const report = receiver.state.lastReport!;
    const entries = (report.entries as unknown[]).length;
    const docker = (report.facts as { docker: { reachable: boolean; version?: string } }).docker;

    // Idle: beats held, nothing asked.
    const idleFrom = onCpuMs([agent.pid]);
    await sleep(5_000);
    const idleCpuPerS = (onCpuMs([agent.pid]) - idleFrom) / 5;
    receiver.release();

    console.log(
      `one agent (${bin === AGENT_LAUNCHER ? 'from its startup snapshot, built now' : bin}), ${desired.targets.length} targets ` +
        `registered (${entries} entries per beat), dockerd ${docker.reachable ? `reachable (${docker.version})` : 'not reachable'}, ` +
        `heartbeat every ${INTERVAL_MS} ms, CPU from /proc/PID/task/*/schedstat (on-CPU ns of its threads)`,
    );
    console.log(
      `heartbeats: ${beatsSeen} beats at ${beatRate.toFixed(1)} beats/s (${fullBeats} with facts and entries in full, ` +
        `the others naming them by digest), agent CPU ${beatCpu.toFixed(2)} ms per beat ` +
        `(median of ${ROUNDS} rounds: ${fixed(beatCpus)})`,
    );
    console.log(
      `reference: \`status\` API calls, ${perRound(statusCalls)} one every ${INTERVAL_MS} ms after each round of beats ` +
        `(beats held): agent CPU ${statusCpu.toFixed(2)} ms per call (${fixed(statusCpus)}); ` +
        `${perRound(statusCalls)} in a row after them: ${median(inARowCpus).toFixed(2)} ms per call (${fixed(inARowCpus)}); ` +
        `idle (beats held) ${idleCpuPerS.toFixed(2)} ms/s`,
    );
    console.log(
      `ratio heartbeat / status call: ${median(ratios).toFixed(2)} (median of each round's: ${fixed(ratios)})`,
    );
  } finally {
    receiver.release();
    await agent.stop();
    await sandbox.stop();
    receiver.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

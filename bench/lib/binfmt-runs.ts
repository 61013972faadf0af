/**
 * What the agent benches share (bench/agent-register.ts, bench/agent-api-parts.ts): the token their
 * agents run with, the warm-up before an agent's API is timed, and systemd-binfmt, the reference they
 * time it against.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentClient } from '../../apps/agent/src/server/agent-client.ts';
import { REPO, kernelSnapshot, startSandbox, type Sandbox } from '../../packages/test-sandbox/src/index.ts';

export const BENCH_TOKEN = 'bench-token-0123456789abcdefghijklmnopq';

/**
 * Calls before the agent's API is timed. V8 optimises a function only after it ran many times, on
 * worker threads: its other threads still used ~2 ms of CPU per call over calls 31-50, ~0.4 ms after
 * 100 (docs/operations.md). bench/agent-register.ts prints what they used during the timed calls.
 */
export const API_WARMUP = 200;

const SYSTEMD_BINFMT = '/usr/lib/systemd/systemd-binfmt';

/** Wall time of a command inside the sandbox, measured in there: without nsenter's own start-up. */
export async function timedInside(
  sandbox: Sandbox,
  command: string,
  args: string[],
  env?: Record<string, string>,
): Promise<number> {
  const script = 'start=$(date +%s%N); "$@" >/dev/null || exit 1; end=$(date +%s%N); echo $((end - start))';
  const r = await sandbox.exec('bash', ['-c', script, 'bash', command, ...args], {
    cwd: REPO,
    env,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
  return Number(r.stdout.trim()) / 1e6;
}

/** The kernel's qemu entries (not the global status file), for comparing what each way registered. */
export const qemuEntries = (sandbox: Sandbox) =>
  JSON.stringify(Object.entries(kernelSnapshot(sandbox)).filter(([name]) => name.startsWith('qemu-')));

/**
 * systemd-binfmt loading `paths` (binfmt.d files) into a fresh sandbox: its wall time, measured inside.
 * Throws unless it registered `expected` (qemuEntries of what the agent registered).
 */
export async function systemdBinfmtRun(paths: string[], expected: string): Promise<number> {
  const fresh = await startSandbox();
  try {
    const took = await timedInside(fresh, SYSTEMD_BINFMT, paths);
    if (qemuEntries(fresh) !== expected)
      throw new Error('systemd-binfmt registered other entries than the agent');
    return took;
  } finally {
    await fresh.stop();
  }
}

/**
 * The agent's own systemd export (arch-table's register lines for its desired state: apply first) in
 * `dir`: the binfmt.d files systemd-binfmt loads (`paths`) and their lines in one file (`linesFile`),
 * which the kernel floor writes (bench/lib/kernel-floor.ts).
 */
export async function writeSystemdExport(
  client: AgentClient,
  dir: string,
): Promise<{ paths: string[]; linesFile: string }> {
  const files = await client.export.query({ format: 'systemd' });
  const confDir = join(dir, 'binfmt.d');
  await mkdir(confDir);
  const paths = files.map((f) => join(confDir, f.fileName));
  await Promise.all(files.map((f, i) => writeFile(paths[i]!, f.content)));
  const linesFile = join(dir, 'register-lines');
  await writeFile(linesFile, files.map((f) => f.content).join('\n'));
  return { paths, linesFile };
}

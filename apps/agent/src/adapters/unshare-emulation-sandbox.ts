import { spawn } from 'node:child_process';
import { AgentError } from '../errors.ts';
import type { EmulationSandbox, EmulationSandboxes } from './emulation-sandbox.ts';
import type { ProcessResult } from './host-os.ts';
import { KernelBinfmtFs } from './kernel-binfmt-fs.ts';

/**
 * Sandboxes from unshare(1) and nsenter(1): a holder process owns the namespaces and mounts the
 * private binfmt_misc (the command and the path come from KernelBinfmtFs, the one file that touches
 * binfmt_misc); the agent reaches it through /proc/PID/root, where KernelBinfmtFs reads and registers.
 */
export const unshareSandboxes: EmulationSandboxes = {
  async start(): Promise<EmulationSandbox> {
    // `read` blocks on our stdin: should the agent die, the pipe closes and the holder exits.
    const holder = spawn(
      'unshare',
      [
        '--user',
        '--map-root-user',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        `${KernelBinfmtFs.privateMountCommand} && echo ready && read _`,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      holder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      holder.stdout.once('data', () => resolve());
      const fail = (why: string) =>
        reject(
          new AgentError(
            'PERMISSION_DENIED',
            `Cannot make a private binfmt_misc to run foreign images under emulation (${why}): ` +
              'it needs Linux 6.7 or later with user namespaces (unshare --user); build on such a host or skip the checks.',
          ),
        );
      holder.once('error', (error) => fail(error.message));
      holder.once('exit', (code) => fail(stderr.trim() || `unshare exited with ${code}`));
    });
    const pid = holder.pid!;
    return {
      binfmt: KernelBinfmtFs.ofNamespaceHolder(pid),
      run: (path, args, timeoutMs) => runInside(pid, path, args, timeoutMs),
      async stop() {
        holder.stdin.end();
        if (holder.exitCode === null) holder.kill('SIGKILL');
      },
    };
  },
};

function runInside(
  pid: number,
  path: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<ProcessResult> {
  // --preserve-credentials: uid 0 is root inside already. detached: a timeout kills the whole group.
  const child = spawn(
    'nsenter',
    ['--target', String(pid), '--user', '--mount', '--preserve-credentials', '--', path, ...args],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }, timeoutMs);
    const done = (exitCode: number | null, spawnError?: string) => {
      clearTimeout(timer);
      resolve({
        ...(exitCode === null ? {} : { exitCode }),
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        timedOut,
        ...(spawnError ? { spawnError } : {}),
      });
    };
    child.once('error', (error: NodeJS.ErrnoException) => done(null, error.code ?? error.message));
    child.once('close', (code) => done(code));
  });
}

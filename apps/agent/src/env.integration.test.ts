import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBundle, REPO } from '@binfleet/test-sandbox';

const run = promisify(execFile);

/** The agent run as users run it, to its end; its exit status and what it printed. */
async function agent(args: string[], env: Record<string, string>) {
  const done = await run('node', [agentBundle(), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    timeout: 60_000,
  })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
    .catch((error: { code: number; stdout: string; stderr: string }) => error);
  return { code: done.code, stdout: done.stdout, stderr: done.stderr };
}

describe('binfleet-agent with a variable that is not valid', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'binfleet-agent-bad-env-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('serve stops at start (exit 2) naming the variable, its value and what is allowed', async () => {
    const result = await agent(['serve', '--listen', '127.0.0.1:0', '--state-dir', stateDir], {
      BINFLEET_BINFMT_MOUNT: 'proc/sys/fs/binfmt_misc',
    });
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe(
      'binfleet-agent: BINFLEET_BINFMT_MOUNT="proc/sys/fs/binfmt_misc" is not valid: an absolute path (starting with /)\n',
    );
    // Stopped before anything was set up: no token, no state.
    expect(await readdir(stateDir)).toEqual([]);
  });

  it('a one-shot command stops the same way before it looks at the kernel', async () => {
    const result = await agent(['status'], { HOST_ARCH: 'pdp11' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^binfleet-agent: HOST_ARCH="pdp11" is not valid: a host architecture QEMU emulates/,
    );
  });
});

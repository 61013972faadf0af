import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agentBundle,
  kernelSnapshot,
  REPO,
  startAgent,
  startSandbox,
  type AgentProcess,
  type Sandbox,
} from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient, type AgentClient } from '../server/agent-client.ts';

// `binfleet-agent serve` and a one-shot `binfleet-agent register` beside it on one host (a sandbox:
// its own binfmt_misc and /run/binfleet) take turns on binfmt_misc. To hold serve mid-operation for
// as long as the test wants, its docker socket is one this test serves and never answers: a verify by
// container waits there, under the lock, until the test hangs up.
const TOKEN = 'lock-token-0123456789abcdefghijklmnop';
const REGISTER = ['register', '--reset', '-p', 'yes', '--lock-wait', '1s'];

/** Processes that have `file` among their arguments, such as an agent's lock helper. */
function processesWith(file: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(file);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('the binfmt_misc lock across processes', () => {
  let dir: string;
  let sandbox: Sandbox;
  let other: Sandbox;
  let agent: AgentProcess;
  let client: AgentClient;
  let docker: Server;
  const callers = new Set<Socket>();
  let connected: () => void = () => {};

  const cli = (box: Sandbox, args: readonly string[]) =>
    box.exec('node', [agentBundle(), ...args], { cwd: REPO, timeoutMs: 60_000 });
  const startServe = async () => {
    const stateDir = await mkdtemp(join(dir, 'state-'));
    const started = await startAgent(sandbox, {
      stateDir,
      args: ['--reconcile-interval', '1h', '--lock-wait', '1s'],
      env: { BINFLEET_AGENT_TOKEN: TOKEN, BINFLEET_DOCKER_SOCKET: join(dir, 'docker.sock') },
    });
    return { started, client: createAgentClient(started.url, TOKEN) };
  };
  /** Starts a verify by container and resolves once serve waits on dockerd, holding the lock. */
  const verifyHeld = async (c: AgentClient) => {
    const reached = new Promise<void>((resolve) => (connected = resolve));
    const verifying = c.verify.mutate({ targets: ['arm64'], methods: ['container'] });
    verifying.catch(() => undefined);
    await reached;
    // Wrapped: returning the promise itself would make the caller's await wait for the verify.
    return { verifying };
  };
  /** The lock file of the sandbox's binfmt_misc, as its processes see it. */
  const lockFile = () =>
    `/run/binfleet/binfmt-${/\[(\d+)\]/.exec(readlinkSync(`/proc/${sandbox.pid}/ns/user`))![1]}.lock`;
  /** The processes with the lock file among their arguments, once there are `count` of them (2 s at most). */
  const helpersSettle = async (count: number) => {
    for (const until = Date.now() + 2000; processesWith(lockFile()).length !== count && Date.now() < until;)
      await new Promise((resolve) => setTimeout(resolve, 20));
    return processesWith(lockFile());
  };
  const hangUp = () => {
    for (const s of callers) s.destroy();
    callers.clear();
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-host-lock-'));
    docker = createServer((socket) => {
      callers.add(socket);
      connected();
    });
    await new Promise<void>((resolve) => docker.listen(join(dir, 'docker.sock'), resolve));
    sandbox = await startSandbox();
    other = await startSandbox();
    ({ started: agent, client } = await startServe());
    await client.applyState.mutate({ targets: ['arm64'], persistent: true });
  });

  afterAll(async () => {
    hangUp();
    await agent?.stop('SIGKILL');
    await sandbox?.stop();
    await other?.stop();
    await new Promise((resolve) => docker?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a CLI register while serve is mid-operation, naming serve and what to do', async () => {
    const servePid = (await agent.waitForLog((l) => l.event === 'listening')).pid as number;
    const { verifying } = await verifyHeld(client);
    const before = kernelSnapshot(sandbox);

    const refused = await cli(sandbox, REGISTER);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toContain(`process ${servePid} (binfleet-agent serve --listen 127.0.0.1:0`);
    expect(refused.stderr).toContain('is running "verify" since');
    expect(refused.stderr).toContain(
      `Wait for it to finish and retry. If it hangs, stop it (kill ${servePid})`,
    );
    // The token serve was started with never reaches the lock file's holder line.
    expect(refused.stderr).not.toContain(TOKEN);
    expect(kernelSnapshot(sandbox)).toEqual(before);

    // Another host (sandbox) is not held up by this one's lock.
    const elsewhere = await cli(other, REGISTER);
    expect(elsewhere.stderr).toBe('');
    expect(elsewhere.code).toBe(0);

    // serve's operation ends; the same command now runs.
    hangUp();
    await verifying;
    const ran = await cli(sandbox, REGISTER);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(kernelSnapshot(sandbox)['qemu-aarch64']).toMatch(/^flags: F$/m);
  });

  it('answers BUSY through the API while another process holds the lock', async () => {
    const holder = sandbox.spawn('flock', ['--timeout', '30', lockFile(), 'sh', '-c', 'echo held && read _']);
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    try {
      const error = await client.remove.mutate({ all: true }).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(
        /^Cannot remove now: another process holds \/run\/binfleet\/binfmt-\d+\.lock/,
      );
      expect(kernelSnapshot(sandbox)['qemu-aarch64']).toBeDefined();
    } finally {
      holder.stdin!.end();
      await new Promise((resolve) => holder.once('close', resolve));
    }
    await client.remove.mutate({ targets: ['arm64'] });
    expect(kernelSnapshot(sandbox)['qemu-aarch64']).toBeUndefined();
  });

  it('takes over the lock of a serve killed mid-operation', async () => {
    await client.applyState.mutate({ targets: ['arm64'], persistent: true });
    await verifyHeld(client);
    expect((await cli(sandbox, ['remove', 'arm64', '--lock-wait', '1s'])).code).toBe(75);
    // serve's helper alone (the refused command's goes with it).
    expect(await helpersSettle(1)).toHaveLength(1);
    await agent.stop('SIGKILL');
    hangUp();
    // serve's helper saw its pipe close and went too.
    expect(await helpersSettle(0)).toEqual([]);

    const ran = await cli(sandbox, ['remove', 'arm64', '--lock-wait', '5s']);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('Removed qemu-aarch64');
    expect(kernelSnapshot(sandbox)['qemu-aarch64']).toBeUndefined();
  });
});

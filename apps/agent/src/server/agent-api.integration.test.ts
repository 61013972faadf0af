import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTRACT_VERSION } from '@binfleet/agent-contract';
import {
  AGENT_DIST,
  agentBundle,
  fixtures,
  kernelSnapshot,
  startAgent,
  startSandbox,
  type AgentProcess,
  type Sandbox,
} from '@binfleet/test-sandbox';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAgentClient, type AgentClient } from './agent-client.ts';

// The agent as it runs in production (`binfleet-agent serve`), inside a sandbox with its own kernel
// binfmt_misc, driven over HTTP with the typed client and with raw requests.
const TOKEN = 'test-token-0123456789abcdefghijklmnop';

interface ErrorBody {
  readonly error: { readonly message: string; readonly data: Record<string, unknown> };
}
const errorOf = async (res: Response) => ((await res.json()) as ErrorBody).error;

describe('binfleet-agent serve: the tRPC API over HTTP', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let agent: AgentProcess;
  let client: AgentClient;
  let atStart: { kernel: Record<string, string>; desired: unknown };
  const kernel = () => kernelSnapshot(sandbox);
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${agent.url}/trpc/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      body,
    });

  beforeAll(async () => {
    sandbox = await startSandbox();
    stateDir = await mkdtemp(join(tmpdir(), 'binfleet-agent-state-'));
    agent = await startAgent(sandbox, {
      stateDir,
      args: ['--probe-dir', fixtures().busyboxDir],
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    client = createAgentClient(agent.url, TOKEN);
    // Before any test's beforeEach changes it.
    atStart = { kernel: kernel(), desired: (await client.status.query()).desired };
  });
  beforeEach(async () => {
    await client.remove.mutate({ all: true });
  });
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('starts without changing the kernel or keeping a desired state (its start rehearses an apply)', async () => {
    expect(Object.keys(atStart.kernel).filter((name) => name.startsWith('qemu-'))).toEqual([]);
    expect(atStart.desired).toBeNull();
  });

  it('answers /healthz without a token', async () => {
    const res = await fetch(`${agent.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }],
    ['a token of another length', { authorization: 'Bearer short' }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
  ])('refuses %s with 401 before any procedure runs, and the kernel is unchanged', async (_, headers) => {
    const before = kernel();
    const res = await fetch(`${agent.url}/trpc/applyState`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ targets: ['arm64'], persistent: true }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await errorOf(res)).toMatchObject({ data: { code: 'UNAUTHORIZED' }, message: /Bearer/ });
    expect(kernel()).toEqual(before);
    const typed = createAgentClient(agent.url, 'wrong-token-0123456789abcdefghijkl');
    await expect(typed.status.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });

  it('applies a desired state: qemu-aarch64 with flags F in the kernel, and an arm64 binary runs', async () => {
    const result = await client.applyState.mutate({ targets: ['linux/arm64'], persistent: true });
    expect(result.changed).toBe(true);
    expect(result.actions).toEqual([expect.objectContaining({ kind: 'register', name: 'qemu-aarch64' })]);
    const entry = kernel()['qemu-aarch64'];
    expect(entry).toMatch(/^enabled$/m);
    expect(entry).toMatch(/^flags: F$/m);
    expect(entry).toMatch(/^interpreter \/usr\/bin\/qemu-aarch64-static$/m);
    const run = await sandbox.exec(fixtures().busybox('arm64'), ['uname', '-m']);
    expect(run).toMatchObject({ code: 0, stdout: 'aarch64\n' });

    const status = await client.status.query();
    expect(status.desired).toMatchObject({ targets: ['aarch64'], persistent: true });
    expect(status.drift).toEqual([]);
    expect(status.binfmt.entries).toEqual([
      expect.objectContaining({
        name: 'qemu-aarch64',
        target: 'aarch64',
        entry: expect.objectContaining({ flags: 'F' }),
      }),
    ]);
  });

  it('applying the same state twice is a no-op the second time', async () => {
    const input = { targets: ['arm64', 's390x', 'riscv64'], persistent: true, credential: true };
    expect((await client.applyState.mutate(input)).changed).toBe(true);
    const first = kernel();
    const again = await client.applyState.mutate(input);
    expect(again).toMatchObject({ changed: false, actions: [] });
    expect(kernel()).toEqual(first);
  });

  it('reset + register of every target of this host with F, per the host rules', async () => {
    const result = await client.applyState.mutate({ reset: true, persistent: true });
    const names = Object.keys(kernel()).filter((n) => n.startsWith('qemu-'));
    expect(names).toHaveLength(result.desired.targets.length);
    expect(names).not.toContain('qemu-x86_64');
    expect(Object.values(kernel()).filter((text) => /^flags: F$/m.test(text))).toHaveLength(names.length);
  });

  it.each([
    ['an unknown architecture', { targets: ['pdp11'] }, /Unknown architecture "pdp11"/],
    ['an interpreter dir with ":"', { targets: ['arm64'], interpreterDir: '/usr/bin:/x' }, /contains ':'/],
    [
      'an interpreter dir with a newline',
      { targets: ['arm64'], interpreterDir: '/usr/bin\n:x:M::a::/bin/sh:' },
      /control character/,
    ],
    ['a relative interpreter dir', { targets: ['arm64'], interpreterDir: 'usr/bin' }, /relative/],
    [
      'an interpreter dir with NUL',
      { targets: ['arm64'], interpreterDir: '/usr/bin\0' },
      /control character/,
    ],
    ['a suffix with ":"', { targets: ['arm64'], suffix: '-static:F' }, /suffix/],
    ['a misspelt option', { targets: ['arm64'], persistant: true }, /persistant/],
    ['a wrong type', { targets: 'arm64' }, /targets/],
  ])('rejects %s with 400 and a clear message, and the kernel is unchanged', async (_, input, message) => {
    await client.applyState.mutate({ targets: ['s390x'] });
    const before = kernel();
    const res = await post('applyState', JSON.stringify(input));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.data.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(message);
    expect(kernel()).toEqual(before);
  });

  it('rejects malformed JSON with 400 PARSE_ERROR, in the body and in a query input', async () => {
    const before = kernel();
    const res = await post('applyState', '{"targets": ["arm64"], "persistent": tru');
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({
      data: { code: 'PARSE_ERROR' },
      message: /Malformed JSON in the request body/,
    });
    const query = await fetch(`${agent.url}/trpc/export?input=${encodeURIComponent('{"format":')}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(query.status).toBe(400);
    expect((await errorOf(query)).message).toMatch(/Malformed JSON in the `input` query parameter/);
    expect(kernel()).toEqual(before);
  });

  it('rejects a body over 256 KiB with 413, declared or streamed, and the kernel is unchanged', async () => {
    const before = kernel();
    // 4 MiB: far more than the socket buffers hold, so the agent answers while the client still sends.
    const big = JSON.stringify({ targets: Array.from({ length: 500_000 }, () => 'aarch64') });
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    const declared = await post('applyState', big);
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).message).toMatch(/larger than 262144 bytes/);
    const streamed = (authorization: string) =>
      fetch(`${agent.url}/trpc/applyState`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: new Blob([big]).stream(),
        duplex: 'half',
      } as RequestInit);
    expect((await streamed(`Bearer ${TOKEN}`)).status).toBe(413);
    expect((await streamed('Bearer wrong')).status).toBe(401);
    expect(kernel()).toEqual(before);
  });

  it('translates agent errors: disabling what is not registered is 404 with the agent code', async () => {
    const res = await post('disable', JSON.stringify({ targets: ['arm64'] }));
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({
      data: { agentCode: 'ENTRY_NOT_FOUND' },
      message: /Not registered: qemu-aarch64/,
    });
  });

  it('reports a conflicting entry with what differs (409) and replaces it only with force', async () => {
    await client.applyState.mutate({ targets: ['arm64'] });
    const error = await client.applyState
      .mutate({ targets: ['arm64'], persistent: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error).toMatchObject({
      data: { code: 'CONFLICT', agentCode: 'ENTRY_CONFLICT' },
      message: /flags is "", wanted "F"/,
    });
    expect(kernel()['qemu-aarch64']).toMatch(/^flags: $/m);
    await client.applyState.mutate({ targets: ['arm64'], persistent: true, force: true });
    expect(kernel()['qemu-aarch64']).toMatch(/^flags: F$/m);
  });

  it('enable/disable/remove accept aliases, update the desired state and answer with the kernel entries', async () => {
    await client.applyState.mutate({ targets: ['arm64', 's390x'], persistent: true });
    const disabled = await client.disable.mutate({ targets: ['arm64v8'] });
    expect(kernel()['qemu-aarch64']).toMatch(/^disabled$/m);
    // What the kernel holds afterwards comes with the answer, as the control plane records it.
    expect(Object.fromEntries(disabled.entries!.map((e) => [e.name, e.entry.enabled]))).toEqual({
      'qemu-aarch64': false,
      'qemu-s390x': true,
    });
    expect((await client.status.query()).desired).toMatchObject({ disabled: ['aarch64'] });
    await client.enable.mutate({ targets: ['aarch64'] });
    expect(kernel()['qemu-aarch64']).toMatch(/^enabled$/m);
    const removed = await client.remove.mutate({ targets: ['s390x'] });
    expect(removed.removed).toEqual(['qemu-s390x']);
    expect(removed.entries?.map((e) => e.name)).toEqual(['qemu-aarch64']);
    expect((await client.status.query()).desired).toMatchObject({ targets: ['aarch64'], disabled: [] });
  });

  it('concurrent changes run one at a time: every call succeeds after waiting its turn', async () => {
    const calls = [true, false, true].map((persistent) =>
      client.applyState.mutate({ reset: true, persistent }),
    );
    const results = await Promise.all(calls);
    expect(results.every((r) => r.changed)).toBe(true);
    // Whichever ran last won completely: the kernel holds exactly the kept desired state, no mix.
    const status = await client.status.query();
    expect(status.drift).toEqual([]);
    const texts = Object.entries(kernel()).filter(([n]) => n.startsWith('qemu-'));
    expect(texts.length).toBe(status.desired!.targets.length);
    const flags = status.desired!.persistent ? /^flags: F$/m : /^flags: $/m;
    expect(texts.every(([, t]) => flags.test(t))).toBe(true);
  });

  it('reports facts: identity, binfmt_misc, docker and the emulators with their QEMU version', async () => {
    const facts = await client.facts.query();
    expect(facts).toMatchObject({
      machine: 'x86_64',
      contractVersion: CONTRACT_VERSION,
      binfmt: { mounted: true, writable: true, namespaced: true, mountPoint: '/proc/sys/fs/binfmt_misc' },
    });
    expect(typeof facts.docker.reachable).toBe('boolean');
    expect(facts.interpreters).toContainEqual(
      expect.objectContaining({
        target: 'aarch64',
        path: '/usr/bin/qemu-aarch64-static',
        version: expect.stringMatching(/^\d+\.\d+/),
      }),
    );
  });

  it('exports systemd and Debian files for the kept desired state', async () => {
    await client.applyState.mutate({ targets: ['arm64'], persistent: true });
    const files = await client.export.query({ format: 'systemd' });
    expect(files).toEqual([
      {
        fileName: 'qemu-aarch64.conf',
        content: expect.stringMatching(/:\/usr\/bin\/qemu-aarch64-static:F\n$/),
      },
    ]);
    const debian = await client.export.query({ format: 'debian', targets: ['s390x'] });
    expect(debian[0]).toMatchObject({
      fileName: 'qemu-s390x',
      content: expect.stringContaining('fix_binary yes'),
    });
  });

  it('verifies a registered target by running a real arm64 binary through the kernel', async () => {
    await client.applyState.mutate({ targets: ['arm64'], persistent: true });
    const report = await client.verify.mutate({ targets: ['arm64'], methods: ['probe'] });
    expect(report.checks).toEqual([
      expect.objectContaining({ target: 'aarch64', method: 'probe', status: 'pass', output: 'aarch64' }),
    ]);
    expect(report.passed).toBe(true);
  });
});

describe('binfleet-agent serve: busy answers, tokens, TLS', () => {
  let sandbox: Sandbox;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    dir = await mkdtemp(join(tmpdir(), 'binfleet-agent-'));
  });
  afterAll(async () => {
    await sandbox?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('with no wait allowed, concurrent changes get BUSY (429) naming the running operation', async () => {
    const agent = await startAgent(sandbox, {
      stateDir: join(dir, 'busy'),
      args: ['--lock-wait', '1ms'],
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    try {
      const client = createAgentClient(agent.url, TOKEN);
      const settled = await Promise.allSettled(
        Array.from({ length: 6 }, () => client.applyState.mutate({ reset: true, persistent: true })),
      );
      const busy = settled.filter((s) => s.status === 'rejected');
      expect(settled.some((s) => s.status === 'fulfilled')).toBe(true);
      expect(busy.length).toBeGreaterThan(0);
      for (const s of busy) {
        expect((s as PromiseRejectedResult).reason).toMatchObject({
          data: { code: 'TOO_MANY_REQUESTS', agentCode: 'BUSY' },
          message: expect.stringMatching(
            /^Another operation \(apply --reset, started .+\) is running on this host: retry in a moment\.$/,
          ),
        });
      }
    } finally {
      await agent.stop();
    }
  });

  it('without a token configured, makes one, prints it once, keeps only its hash, and keeps it across restarts', async () => {
    const stateDir = join(dir, 'generated');
    const first = await startAgent(sandbox, { stateDir });
    const generated = await first.waitForLog((l) => l.event === 'token-generated');
    const token = String(generated.token);
    expect(token.length).toBeGreaterThanOrEqual(43);
    await expect(createAgentClient(first.url, token).status.query()).resolves.toBeDefined();
    expect(await first.stop()).toBe(0);
    const kept = execFileSync('cat', [join(stateDir, 'token-hash.json')], { encoding: 'utf8' });
    expect(kept).not.toContain(token);
    expect(
      execFileSync('stat', ['-c', '%a', join(stateDir, 'token-hash.json')], { encoding: 'utf8' }).trim(),
    ).toBe('600');

    const second = await startAgent(sandbox, { stateDir });
    try {
      await expect(createAgentClient(second.url, token).status.query()).resolves.toBeDefined();
      expect(second.logs.some((l) => l.event === 'token-generated')).toBe(false);
    } finally {
      await second.stop();
    }
  });

  it('never logs a token given through the environment', async () => {
    const agent = await startAgent(sandbox, {
      stateDir: join(dir, 'env'),
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    try {
      await createAgentClient(agent.url, TOKEN).facts.query();
      await fetch(`${agent.url}/trpc/status`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    } finally {
      await agent.stop();
    }
    expect(JSON.stringify(agent.logs)).not.toContain(TOKEN);
    expect(agent.stderr()).not.toContain(TOKEN);
  });

  it('serves HTTPS with --tls-cert/--tls-key', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const agent = await startAgent(sandbox, {
      stateDir: join(dir, 'tls'),
      args: ['--tls-cert', cert, '--tls-key', key],
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    try {
      expect(agent.url).toMatch(/^https:\/\//);
      const ca = execFileSync('cat', [cert]);
      const get = (path: string, headers: Record<string, string> = {}) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          https
            .get(`${agent.url}${path}`, { ca, headers }, (res) => {
              let body = '';
              res.on('data', (c) => (body += c));
              res.on('end', () => resolve({ status: res.statusCode!, body }));
            })
            .on('error', reject);
        });
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/trpc/status')).status).toBe(401);
      const status = await get('/trpc/status', { authorization: `Bearer ${TOKEN}` });
      expect(status.status).toBe(200);
      expect(JSON.parse(status.body).result.data.binfmt.mounted).toBe(true);
    } finally {
      await agent.stop();
    }
  });
});

describe('the production bundle (dist/bin/binfleet-agent.cjs, what the unit and the image run)', () => {
  let sandbox: Sandbox;
  let dir: string;

  beforeAll(async () => {
    agentBundle();
    sandbox = await startSandbox();
    dir = await mkdtemp(join(tmpdir(), 'binfleet-agent-dist-'));
  });
  afterAll(async () => {
    await sandbox?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the same API: apply with F against the kernel, status, verify', async () => {
    const agent = await startAgent(sandbox, {
      bin: AGENT_DIST,
      stateDir: dir,
      args: ['--probe-dir', fixtures().busyboxDir],
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    try {
      const client = createAgentClient(agent.url, TOKEN);
      await client.applyState.mutate({ targets: ['arm64'], persistent: true });
      expect(kernelSnapshot(sandbox)['qemu-aarch64']).toMatch(/^flags: F$/m);
      expect((await client.status.query()).drift).toEqual([]);
      const report = await client.verify.mutate({ targets: ['arm64'], methods: ['probe'] });
      expect(report.passed).toBe(true);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });
});

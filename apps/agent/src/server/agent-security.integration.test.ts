import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agentBundle,
  FLAG_INJECTIONS,
  INJECTIONS,
  kernelSnapshot,
  REPO,
  startAgent,
  startSandbox,
  type AgentProcess,
  type Injection,
  type Sandbox,
} from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient } from './agent-client.ts';
import { hashToken } from './bearer-auth.ts';
import { agentRouter } from './router.ts';

// Security probes of the agent, against a real `binfleet-agent serve` and the real CLI in a sandbox
// with its own kernel binfmt_misc: every procedure refuses callers without the token before it runs,
// and no input that tries to inject into a register line reaches the kernel.
const TOKEN = 'security-probe-token-0123456789abcdef';

/**
 * Every procedure of the agent router with a valid-shaped input. The test fails when the router has a
 * procedure this table does not list (or the other way round): a new procedure cannot go unprobed.
 */
const AGENT_PROCEDURES: Record<string, { readonly input?: unknown }> = {
  facts: {},
  status: {},
  applyState: { input: { targets: ['s390x'], reset: true } },
  remove: { input: { all: true } },
  enable: { input: { targets: ['arm64'] } },
  disable: { input: { targets: ['arm64'] } },
  verify: { input: { targets: ['arm64'] } },
  export: { input: { format: 'systemd' } },
  build: {
    input: { packagePath: '/srv/packages/qemu.deb', registry: '127.0.0.1:5000', repository: 'probe/qemu' },
  },
  buildStatus: { input: { id: 'probe' } },
  buildLog: { input: { id: 'probe' } },
  cancelBuild: { input: { id: 'probe' } },
  builds: {},
  fetchPackage: { input: { sha256: '0'.repeat(64) } },
  upgradeAgent: {
    input: { file: 'binfleet-agent_9.9.9_all.tar.gz', sha256: '0'.repeat(64), size: 1, version: '9.9.9' },
  },
};

type ProcedureType = 'query' | 'mutation' | 'subscription';
const procedures = agentRouter._def.procedures as Record<string, { _def: { type: ProcedureType } }>;

interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  readonly message: string;
}

describe('agent security probes', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let agent: AgentProcess;
  const kernel = () => kernelSnapshot(sandbox);

  /** One procedure call over HTTP as any client could send it: GET for queries, POST for mutations. */
  const call = async (path: string, input: unknown, authorization?: string): Promise<Answer> => {
    const type = procedures[path]!._def.type;
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const url = new URL(`/trpc/${path}`, agent.url);
    if (type === 'query' && input !== undefined) url.searchParams.set('input', JSON.stringify(input));
    const res = await fetch(url, {
      method: type === 'query' ? 'GET' : 'POST',
      headers: type === 'query' ? headers : { ...headers, 'content-type': 'application/json' },
      ...(type === 'query' ? {} : { body: JSON.stringify(input ?? null) }),
    });
    const text = await res.text();
    // Node answers 431 with no body to a URL longer than its header limit (16 KiB), before the agent.
    if (res.status === 431) return { status: 431, code: 'REQUEST_HEADER_FIELDS_TOO_LARGE', message: '' };
    const body = JSON.parse(text) as { error?: { message: string; data: { code: string } } };
    return { status: res.status, code: body.error?.data.code, message: body.error?.message ?? '' };
  };
  const bearer = `Bearer ${TOKEN}`;

  beforeAll(async () => {
    sandbox = await startSandbox();
    stateDir = await mkdtemp(join(tmpdir(), 'binfleet-agent-security-'));
    agent = await startAgent(sandbox, {
      stateDir,
      // No reconciliation during the probes: the kernel may only change through what they send.
      args: ['--reconcile-interval', '1h'],
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    // Something in the kernel, so that "unchanged" would notice a reset or a removal too.
    await createAgentClient(agent.url, TOKEN).applyState.mutate({
      targets: ['arm64', 'riscv64'],
      persistent: true,
    });
    expect(Object.keys(kernel())).toEqual(['qemu-aarch64', 'qemu-riscv64', 'status']);
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('probes every procedure of the agent router, and only those', () => {
    expect(Object.keys(procedures).sort()).toEqual(Object.keys(AGENT_PROCEDURES).sort());
  });

  const callers: [string, string | undefined][] = [
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${TOKEN.slice(0, -1)}x`],
    ['the token with a suffix', `Bearer ${TOKEN}x`],
    ['the token in another scheme', `Basic ${TOKEN}`],
    ['an empty bearer', 'Bearer '],
    ['the hash the agent keeps instead of the token', `Bearer ${hashToken(TOKEN)}`],
  ];

  it.each(Object.keys(AGENT_PROCEDURES))(
    '%s: 401 without the right token, before it runs; with the token it gets past authentication',
    async (path) => {
      const before = kernel();
      const { input } = AGENT_PROCEDURES[path]!;
      for (const [who, authorization] of callers) {
        const answer = await call(path, input, authorization);
        expect({ who, ...answer }).toMatchObject({ who, status: 401, code: 'UNAUTHORIZED' });
        expect(answer.message).toMatch(/Authorization: Bearer/);
      }
      // A batch of every procedure is refused as a whole.
      const batch = await fetch(new URL(`/trpc/${path},status?batch=1`, agent.url), { method: 'GET' });
      expect(batch.status).toBe(401);
      expect(kernel()).toEqual(before);

      // With the token, a malformed input is a 400 from the procedure's own parser (so the 401s above
      // came from authentication), and procedures without input answer.
      const probe = await call(path, input === undefined ? undefined : { probe: 1 }, bearer);
      if (input === undefined) expect(probe.status).toBe(200);
      else expect(probe).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
      expect(kernel()).toEqual(before);
    },
  );

  it('the package upload outside tRPC (PUT/GET /packages/<sha256>) is 401 too, before the body is read', async () => {
    const sha = 'a'.repeat(64);
    for (const [who, authorization] of callers) {
      for (const method of ['PUT', 'GET']) {
        const res = await fetch(new URL(`/packages/${sha}`, agent.url), {
          method,
          headers: authorization ? { authorization } : {},
          ...(method === 'PUT' ? { body: Buffer.alloc(1024, 1) } : {}),
        });
        expect({ who, method, status: res.status }).toEqual({ who, method, status: 401 });
      }
    }
    const files = await readdir(stateDir, { recursive: true });
    expect(files.filter((f) => String(f).includes(sha))).toEqual([]);
  });

  /** "targets.0: Unknown architecture ...", "suffix: Interpreter suffix ... is not allowed: use ...". */
  const SUBJECT: Record<string, RegExp> = {
    interpreterDir: /interpreterDir: \w|^Interpreter path .* the kernel allows at most/,
    suffix: /suffix: \w/,
    targets: /targets(\.\d+)?: \w/,
    disabled: /disabled(\.\d+)?: \w/,
    packagePath: /packagePath: \w/,
    busybox: /busybox: \w/,
  };

  /** Every agent API input that names a path, a suffix or architectures, with the attack in place. */
  const apiInputs = (i: Injection): [string, string, unknown][] => [
    ['applyState', 'interpreterDir', { targets: ['s390x'], interpreterDir: i.path, reset: true }],
    ['applyState', 'suffix', { targets: ['s390x'], suffix: i.word, reset: true }],
    ['applyState', 'targets', { targets: [i.arch], reset: true }],
    ['applyState', 'disabled', { targets: ['s390x'], disabled: [i.arch], reset: true }],
    ['remove', 'targets', { targets: [i.arch] }],
    ['enable', 'targets', { targets: [i.arch] }],
    ['disable', 'targets', { targets: ['arm64', i.arch] }],
    ['verify', 'targets', { targets: [i.arch] }],
    ['export', 'interpreterDir', { format: 'systemd', interpreterDir: i.path }],
    ['export', 'suffix', { format: 'debian', suffix: i.word }],
    ...(i.inFilePaths
      ? ([
          ['build', 'packagePath', { ...AGENT_PROCEDURES.build!.input!, packagePath: i.path }],
          ['build', 'busybox', { ...AGENT_PROCEDURES.build!.input!, busybox: i.path }],
        ] as [string, string, unknown][])
      : []),
  ];

  it.each(INJECTIONS.map((i) => [i.attack, i] as const))(
    'API: %s is refused in every field with a message; the kernel is unchanged',
    async (_attack, injection) => {
      const before = kernel();
      for (const [path, field, input] of apiInputs(injection)) {
        const answer = await call(path, input, bearer);
        if (answer.status === 431 && procedures[path]!._def.type === 'query') continue;
        const seen = { procedure: path, field, status: answer.status, code: answer.code };
        expect(seen).toEqual({ procedure: path, field, status: 400, code: 'BAD_REQUEST' });
        // The message names the field (or what it is) and says why, in one line that shows control
        // and invisible characters escaped rather than raw.
        expect(answer.message).toMatch(SUBJECT[field]!);
        // eslint-disable-next-line no-control-regex -- control characters are what must not appear
        expect(answer.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e]|ZodError/);
      }
      expect(kernel()).toEqual(before);
    },
  );

  it('API: flags cannot be given as text at all; every other field is refused', async () => {
    const before = kernel();
    for (const { flags } of FLAG_INJECTIONS) {
      const answer = await call('applyState', { targets: ['s390x'], flags }, bearer);
      expect(answer).toMatchObject({ status: 400, message: /Unrecognized key.*flags/ });
    }
    expect(kernel()).toEqual(before);
  });

  describe('the CLI', () => {
    const cli = (...args: string[]) =>
      sandbox.exec('node', [agentBundle(), ...args], { cwd: REPO, env: { HOST_ARCH: '' } });
    // Arguments cannot carry NUL (execve ends them there): those attacks cannot reach the CLI at all.
    const viaArgv = INJECTIONS.filter((i) => !`${i.path}${i.word}${i.arch}`.includes('\0'));
    const commands = (i: Injection): [string, string[], RegExp][] => [
      ['register -Q', ['register', '-Q', i.path], /Interpreter|interpreterDir/],
      ['register -F', ['register', '-F', i.word], /suffix/i],
      ['remove', ['remove', i.arch], /architecture/i],
      ['disable', ['disable', 'arm64', i.arch], /architecture/i],
    ];

    it.each(viaArgv.map((i) => [i.attack, i] as const))(
      '%s is refused by every command with a message; the kernel is unchanged',
      async (_attack, injection) => {
        const before = kernel();
        const runs = await Promise.all(
          commands(injection).map(async ([command, args, message]) => ({
            command,
            run: await cli(...args),
            message,
          })),
        );
        for (const { command, run, message } of runs) {
          // 1: refused input; 2: a usage error (an option value the parser refuses).
          expect({ command, refused: run.code === 1 || run.code === 2 }).toEqual({ command, refused: true });
          expect(run.stderr).toMatch(/^binfleet-agent: /);
          expect(run.stderr).toMatch(message);
          expect(run.stderr).not.toMatch(/^\s+at /m);
        }
        expect(kernel()).toEqual(before);
      },
    );
  });
});

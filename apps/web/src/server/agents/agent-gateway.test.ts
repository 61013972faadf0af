import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentCallError } from './agent-errors.ts';
import { OutboundPolicy } from '../security/outbound.ts';
import { AgentGateway, type AgentHost } from './agent-gateway.ts';

// The gateway over its real HTTP transport, against a stand-in agent that answers as told: what an
// agent answers reaches callers only once the contract allows it, and every failure comes out as
// one AgentCallError in plain words.
type Answer = { status: number; body: unknown; delayMs?: number };
let answers: Record<string, Answer> = {};
const requests: { method: string; path: string; authorization?: string }[] = [];
let server: http.Server;
let url: string;
let dir: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    requests.push({ method: req.method!, path, authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => {
      const answer = answers[`${req.method} ${path}`] ?? { status: 404, body: { error: 'nothing here' } };
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'binfleet-gateway-'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  answers = {};
  requests.length = 0;
});

const host = (agentUrl = url): AgentHost => ({
  id: 'host-0001',
  transport: 'direct',
  hostname: 'build-07',
  agentUrl,
  agentId: 'agent-0001',
  agentTokenSealed: 'sealed',
});
const open = new OutboundPolicy({ allow: [] });
const gateway = new AgentGateway({
  tokenOf: () => 'bfa_token',
  timeoutMs: 500,
  agentUrlAllow: [],
  outbound: open,
});
const agent = (agentUrl?: string) => gateway.connect(host(agentUrl));

/** A tRPC error as the agent sends it (server/trpc.ts). */
const trpcError = (code: string, httpStatus: number, message: string, agentCode: string | null = null) => ({
  status: httpStatus,
  body: { error: { message, code: -32000, data: { code, httpStatus, path: 'x', agentCode, details: null } } },
});
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail('the call succeeded'),
    (error: unknown) => error,
  );

describe('AgentGateway', () => {
  it('calls the agent with its credential and answers with what the contract allows', async () => {
    answers['POST /trpc/remove'] = { status: 200, body: { result: { data: { removed: ['qemu-s390x'] } } } };
    expect(await agent().remove({ targets: ['s390x'] })).toEqual({ removed: ['qemu-s390x'] });
    expect(requests).toEqual([{ method: 'POST', path: '/trpc/remove', authorization: 'Bearer bfa_token' }]);
  });

  it('refuses an answer of the wrong shape with the translated error', async () => {
    answers['GET /trpc/status'] = { status: 200, body: { result: { data: { binfmt: { mounted: 'yes' } } } } };
    const error = await failureOf(agent().status());
    expect(error).toBeInstanceOf(AgentCallError);
    expect(error).toMatchObject({
      code: 'AGENT_FAILED',
      transient: false,
      message: expect.stringMatching(
        /^The agent on build-07 answered status with something this control plane does not understand \(binfmt\.mountPoint: .*\): upgrade binfleet-agent there/,
      ),
    });
  });

  it("translates the agent's refusals, keeping its code for callers that act on it", async () => {
    answers['GET /trpc/buildStatus'] = trpcError('NOT_FOUND', 404, 'No build b1 here.', 'BUILD_NOT_FOUND');
    expect(await failureOf(agent().buildStatus({ id: 'b1' }))).toMatchObject({
      code: 'AGENT_FAILED',
      message: 'build-07: No build b1 here.',
      agentCode: 'BUILD_NOT_FOUND',
      transient: false,
    });
    answers['POST /trpc/build'] = trpcError('TOO_MANY_REQUESTS', 429, 'Build b0 is running.', 'BUSY');
    const build = { packagePath: '/p.deb', registry: '127.0.0.1:5000', repository: 'r' };
    expect(await failureOf(agent().build(build))).toMatchObject({
      code: 'RATE_LIMITED',
      message: 'The agent on build-07 is busy: Build b0 is running.',
      transient: true,
    });
    answers['POST /trpc/verify'] = trpcError('UNAUTHORIZED', 401, 'Missing or wrong token.');
    expect(await failureOf(agent().verify({}))).toMatchObject({
      code: 'AGENT_FAILED',
      message:
        'The agent on build-07 refused our credential: rotate its credential (host page > More host actions > Rotate credential; the agent gets the new one with its next heartbeat) or re-join it.',
      transient: false,
    });
  });

  it('tells an agent that is not there from one that is slow, both worth retrying', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const gone = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    expect(await failureOf(agent(gone).facts())).toMatchObject({
      code: 'AGENT_UNREACHABLE',
      transient: true,
      message: `The agent on build-07 at ${gone} is unreachable (ECONNREFUSED): check that binfleet-agent is running there and the address is right.`,
    });
    answers['GET /trpc/facts'] = { status: 200, body: { result: { data: {} } }, delayMs: 2000 };
    expect(await failureOf(agent().facts())).toMatchObject({
      code: 'AGENT_UNREACHABLE',
      transient: true,
      message:
        'The agent on build-07 did not answer within 1 s: check that it is running and not overloaded.',
    });
  });

  it('sends no call, and no credential, to a URL that breaks the rules for agent URLs', async () => {
    const leaky = `${url.replace('http://', 'http://user:pw@')}/`;
    expect(await failureOf(agent(leaky).status())).toMatchObject({
      code: 'AGENT_FAILED',
      message: expect.stringMatching(/^build-07: not called: .*carries a username or password/),
    });
    expect(((await failureOf(agent(leaky).status())) as Error).message).not.toContain('pw@');
    expect(requests).toEqual([]);
  });

  it('sends no call, nor a package, to an agent whose address the outbound rules refuse', async () => {
    const metadata = 'http://169.254.169.254:7475';
    expect(await failureOf(agent(metadata).status())).toMatchObject({
      code: 'AGENT_FAILED',
      message: expect.stringMatching(
        /^build-07: not called: 169.254.169.254 is a link-local or cloud metadata address/,
      ),
    });
    // A name is resolved first; every address it has is checked (here one is a metadata address).
    const resolving = new AgentGateway({
      tokenOf: () => 'bfa_token',
      timeoutMs: 500,
      agentUrlAllow: [],
      outbound: new OutboundPolicy({
        allow: [],
        resolve: async () => [
          { address: '127.0.0.1', family: 4 },
          { address: 'fd00:ec2::254', family: 6 },
        ],
      }),
    });
    expect(await failureOf(resolving.connect(host('http://agent.test:7475')).status())).toMatchObject({
      message: expect.stringMatching(
        /resolves to fd00:ec2::254, which is a link-local or cloud metadata address/,
      ),
    });
    const fenced = new AgentGateway({
      tokenOf: () => 'bfa_token',
      timeoutMs: 500,
      agentUrlAllow: [],
      outbound: new OutboundPolicy({ allow: ['10.0.0.0/8'] }),
    });
    expect(
      await failureOf(fenced.connect(host()).sendPackage({ sha256: 'a'.repeat(64), path: '/x', size: 1 })),
    ).toMatchObject({
      message: expect.stringMatching(/not called: 127.0.0.1 \(127.0.0.1\) is not in BINFLEET_OUTBOUND_ALLOW/),
    });
    expect(requests).toEqual([]);
  });

  it('sends no call to an agent outside the allow-list, although its URL was stored before the list', async () => {
    const fenced = new AgentGateway({
      tokenOf: () => 'bfa_token',
      timeoutMs: 500,
      agentUrlAllow: ['10.0.0.0/8'],
      outbound: open,
    });
    expect(await failureOf(fenced.connect(host()).status())).toMatchObject({
      code: 'AGENT_FAILED',
      message: expect.stringMatching(/^build-07: not called: /),
    });
    expect(requests).toEqual([]);
    // Inside the list, the same host is called (the stand-in's answer, good or not, does not matter here).
    const allowed = new AgentGateway({
      tokenOf: () => 'bfa_token',
      timeoutMs: 500,
      agentUrlAllow: ['127.0.0.1'],
      outbound: open,
    });
    await allowed
      .connect(host())
      .status()
      .catch(() => undefined);
    expect(requests.length).toBeGreaterThan(0);
  });

  it('sends a package unless the agent has it, and says why the agent refused one', async () => {
    const file = join(dir, 'qemu.deb');
    writeFileSync(file, 'x'.repeat(1000));
    const sha256 = 'a'.repeat(64);
    const upload = { sha256, path: file, size: 1000 };
    answers[`GET /packages/${sha256}`] = { status: 200, body: { ok: true, sha256, size: 1000 } };
    expect(await agent().sendPackage(upload)).toBe('present');
    delete answers[`GET /packages/${sha256}`];
    answers[`PUT /packages/${sha256}`] = { status: 201, body: { ok: true, sha256, size: 1000 } };
    const progress: number[] = [];
    expect(await agent().sendPackage({ ...upload, onProgress: (sent) => progress.push(sent) })).toBe('sent');
    expect(progress.at(-1)).toBe(1000);
    answers[`PUT /packages/${sha256}`] = { status: 413, body: { ok: false, error: 'Too large for me.' } };
    expect(await failureOf(agent().sendPackage(upload))).toMatchObject({
      code: 'AGENT_FAILED',
      message: 'build-07: refused the package (HTTP 413): Too large for me.',
    });
  });
});

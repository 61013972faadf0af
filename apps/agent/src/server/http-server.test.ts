import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCClientError } from '@trpc/client';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentError } from '../errors.ts';
import type { AgentService } from '../services/agent-service.ts';
import { createAgentClient } from './agent-client.ts';
import { BearerAuth, hashToken } from './bearer-auth.ts';
import { createAgentHttpServer } from './http-server.ts';
import { agentRouter } from './router.ts';

// The API's HTTP handler on a real node:http server over loopback, with the services faked: the
// typed client the control plane uses (httpLink) and raw requests, and tRPC's own fetch adapter as
// the reference for the wire format.
const TOKEN = 'unit-test-token-0123456789abcdefghij';
const bearer = { authorization: `Bearer ${TOKEN}` };
const files = [{ fileName: 'qemu-s390x.conf', content: ':qemu-s390x:M::...\n' }];

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function serve(agent: Partial<AgentService>, options: { maxBodyBytes?: number } = {}) {
  const onError = vi.fn();
  server = await createAgentHttpServer({
    agent: agent as AgentService,
    auth: new BearerAuth({ hash: hashToken(TOKEN) }),
    version: '0.0.0-test',
    onError,
    ...options,
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, onError, client: createAgentClient(url, TOKEN) };
}

/** The same request through tRPC's own adapter, authenticated as the agent's handler would be. */
async function reference(agent: Partial<AgentService>, path: string, init: RequestInit) {
  const res = await fetchRequestHandler({
    endpoint: '/trpc',
    req: new Request(`http://agent/trpc/${path}`, init),
    router: agentRouter,
    createContext: () => ({ agent: agent as AgentService, authenticated: true }),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

interface ErrorEnvelope {
  readonly error: {
    readonly message: string;
    readonly data: { readonly code: string; readonly httpStatus: number; readonly path: string };
  };
}
const raw = async (url: string, path: string, init: RequestInit) => {
  const res = await fetch(`${url}/trpc/${path}`, init);
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as ErrorEnvelope | readonly ErrorEnvelope[],
  };
};
/** The error of a single call's answer, or of a batch answer's first call. */
const errorOf = (body: ErrorEnvelope | readonly ErrorEnvelope[]) => ('error' in body ? body : body[0]!).error;

describe('the agent HTTP API handler', () => {
  it('answers the typed client (httpLink): queries by GET, mutations by POST, inputs parsed by the contract', async () => {
    const exportFiles = vi.fn(async () => files);
    const remove = vi.fn(async () => ({ removed: ['qemu-aarch64'] }));
    const { client } = await serve({ export: exportFiles, remove });
    expect(await client.export.query({ format: 'systemd', targets: ['linux/s390x'] })).toEqual(files);
    // The alias came in resolved: the contract's parser ran before the service.
    expect(exportFiles).toHaveBeenCalledWith({ format: 'systemd', targets: ['s390x'] });
    expect(await client.remove.mutate({ targets: ['arm64'] })).toEqual({ removed: ['qemu-aarch64'] });
    expect(remove).toHaveBeenCalledWith(['aarch64']);
  });

  it.each([
    ['a query', 'export', { method: 'GET' }, '?input=' + encodeURIComponent('{"format":"systemd"}')],
    ['a query without input', 'builds', { method: 'GET' }, ''],
    ['a mutation', 'remove', { method: 'POST', body: '{"all":true}' }, ''],
    ['bad input', 'remove', { method: 'POST', body: '{"targets":["pdp11"]}' }, ''],
    ['an unknown key', 'applyState', { method: 'POST', body: '{"persistant":true}' }, ''],
    ['an agent error', 'disable', { method: 'POST', body: '{"targets":["arm64"]}' }, ''],
    ['a crash', 'enable', { method: 'POST', body: '{"targets":["arm64"]}' }, ''],
    ['an answer the contract refuses', 'facts', { method: 'GET' }, ''],
  ])('answers %s byte for byte as tRPC own adapter does', async (_, path, init, search) => {
    const agent: Partial<AgentService> = {
      export: async () => files,
      builds: { list: () => [] } as unknown as AgentService['builds'],
      remove: async () => ({ removed: [] }),
      setEnabled: async (_targets, enabled) => {
        if (enabled) throw new Error('boom');
        throw new AgentError('ENTRY_NOT_FOUND', 'Not registered: qemu-aarch64.', { missing: ['x'] });
      },
      facts: async () => ({ not: 'facts' }) as never,
    };
    const { url } = await serve(agent);
    const headers = { ...bearer, 'content-type': 'application/json' };
    const ours = await raw(url, path + search, { ...init, headers });
    const theirs = await reference(agent, path + search, { ...init, headers });
    expect({ status: ours.status, body: ours.body }).toEqual(theirs);
    expect(ours.headers.get('content-type')).toBe('application/json');
  });

  it("gives the client the agent's code, details and status on an error; a 5xx goes to onError", async () => {
    const { client, url, onError } = await serve({
      setEnabled: async () => {
        throw new AgentError('BUSY', 'Cannot disable now: wait and retry.', { pid: 1 });
      },
      remove: async () => {
        throw new Error('boom');
      },
    });
    const error = await client.disable.mutate({ targets: ['arm64'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error).toMatchObject({
      message: 'Cannot disable now: wait and retry.',
      data: {
        code: 'TOO_MANY_REQUESTS',
        httpStatus: 429,
        path: 'disable',
        agentCode: 'BUSY',
        details: { pid: 1 },
      },
    });
    expect(onError).not.toHaveBeenCalled();
    const crash = await raw(url, 'remove', {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: '{"all":true}',
    });
    expect(crash).toMatchObject({
      status: 500,
      body: { error: { data: { code: 'INTERNAL_SERVER_ERROR' } } },
    });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
  });

  it('refuses a missing or wrong token with 401 before the input is parsed or a service runs', async () => {
    const remove = vi.fn();
    const { url } = await serve({ remove });
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`]) {
      const answer = await raw(url, 'remove', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: '{"all": tru',
      });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="binfleet-agent"');
      expect(answer.body).toEqual({
        error: {
          message: 'Missing or wrong token: send Authorization: Bearer <agent token>.',
          code: -32001,
          data: { code: 'UNAUTHORIZED', httpStatus: 401, path: 'remove', agentCode: null, details: null },
        },
      });
    }
    // A batch is refused as a whole, one envelope per call as httpBatchLink reads it.
    const batch = await raw(url, 'remove,status?batch=1', { method: 'GET' });
    expect(batch.status).toBe(401);
    expect(batch.body).toHaveLength(2);
    expect((batch.body as readonly ErrorEnvelope[]).map((e) => e.error.data.path)).toEqual([
      'remove',
      'status',
    ]);
    expect(remove).not.toHaveBeenCalled();
  });

  it.each([
    [
      'a wrong method',
      'remove',
      { method: 'GET' },
      405,
      'METHOD_NOT_SUPPORTED',
      /remove is a mutation: send it as POST/,
    ],
    [
      'a query by POST',
      'export',
      { method: 'POST', body: '{}' },
      405,
      'METHOD_NOT_SUPPORTED',
      /send it as GET/,
    ],
    ['an unknown procedure', 'rmrf', { method: 'POST', body: '{}' }, 404, 'NOT_FOUND', /No procedure rmrf/],
    ['an inherited name', 'constructor', { method: 'GET' }, 404, 'NOT_FOUND', /No procedure constructor/],
    ['a batch', 'remove,status?batch=1', { method: 'GET' }, 400, 'BAD_REQUEST', /one call per request/],
    [
      'malformed JSON',
      'remove',
      { method: 'POST', body: '{"all": tru' },
      400,
      'PARSE_ERROR',
      /Malformed JSON in the request body/,
    ],
    [
      'malformed query input',
      'export?input=%7B',
      { method: 'GET' },
      400,
      'PARSE_ERROR',
      /Malformed JSON in the `input` query parameter/,
    ],
    [
      'input the contract refuses',
      'remove',
      { method: 'POST', body: '{"targets":[]}' },
      400,
      'BAD_REQUEST',
      /^Invalid input: targets/,
    ],
    [
      'a body too large',
      'remove',
      { method: 'POST', body: `{"targets":[${'"arm64",'.repeat(200)}"arm64"]}` },
      413,
      'PAYLOAD_TOO_LARGE',
      /larger than 1024 bytes/,
    ],
  ])(
    'answers %s with %i %s and a message that says what to do',
    async (_, path, init, status, code, message) => {
      const remove = vi.fn();
      const { url } = await serve({ remove }, { maxBodyBytes: 1024 });
      const answer = await raw(url, path, {
        ...init,
        headers: { ...bearer, 'content-type': 'application/json' },
      });
      const error = errorOf(answer.body);
      expect({ status: answer.status, code: error.data.code, httpStatus: error.data.httpStatus }).toEqual({
        status,
        code,
        httpStatus: status,
      });
      expect(error.message).toMatch(message);
      expect(remove).not.toHaveBeenCalled();
    },
  );

  it('wants JSON for a mutation body (415 otherwise), with or without parameters', async () => {
    const remove = vi.fn(async () => ({ removed: [] }));
    const { url } = await serve({ remove });
    const post = (headers: Record<string, string>) =>
      raw(url, 'remove', { method: 'POST', headers: { ...bearer, ...headers }, body: '{"all":true}' });
    expect((await post({ 'content-type': 'text/plain' })).status).toBe(415);
    expect(errorOf((await post({})).body).data.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await post({ 'content-type': 'Application/JSON; charset=utf-8' })).status).toBe(200);
    expect(remove).toHaveBeenCalledOnce();
  });
});

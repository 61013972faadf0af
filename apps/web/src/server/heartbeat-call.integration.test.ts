import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expectedEntry, targetRegisterSpec } from '@binfleet/arch-table';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HEARTBEAT_PATH } from './heartbeat-call.ts';
import { gatewayResponse } from './http-gateway.ts';
import { PEER_HEADER, PEER_PROTO_HEADER } from './security/request-origin.ts';
import { createStandaloneServer } from './standalone.ts';
import { DATABASES } from './testing/fixture.ts';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from './testing/in-process-control-plane.ts';

// The Node servers answer agents' heartbeats without tRPC's fetch adapter (heartbeat-call.ts). Every
// answer must be the one the fetch path (Next's route files, and any other call) gives the same
// request: status, JSON, and the headers agents and proxies read. Each case is sent both ways, over
// HTTP to the standalone server and as a fetch Request to the gateway, on SQLite and PostgreSQL.

type Answer = { status: number; body: unknown; headers: Record<string, string | null> };
const READ_HEADERS = ['content-type', 'vary', 'content-security-policy', 'x-content-type-options'];

const entry = expectedEntry(
  targetRegisterSpec('aarch64', { interpreterDir: '/usr/bin', suffix: '-static', persistent: true }),
);

describe.each(DATABASES)('heartbeats answered by the Node servers on %s', (_name, database) => {
  let plane: InProcessControlPlane;
  let server: ReturnType<typeof createStandaloneServer>;
  let base: string;
  let credential: string;

  beforeAll(async () => {
    plane = await startInProcessControlPlane({ name: 'heartbeat-call', database });
    server = createStandaloneServer(plane.cp).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { token } = await plane.admin.tokens.create({
      label: 'heartbeat-call',
      expiresInHours: 1,
      maxUses: 1,
    });
    const joined = await plane.cp.hosts.enrolment.join({
      joinToken: token,
      agentId: 'heartbeat-call-agent-0001',
      agentUrl: 'http://127.0.0.1:3001',
      hostname: 'beat-1',
      facts: {},
      entries: [entry],
    } as unknown as Parameters<typeof plane.cp.hosts.enrolment.join>[0]);
    credential = joined.heartbeatToken;
  }, 120_000);
  afterAll(async () => {
    server?.close();
    await plane?.stop();
  });

  const read = async (response: Response): Promise<Answer> => ({
    status: response.status,
    body: JSON.parse(await response.text()) as unknown,
    headers: Object.fromEntries(READ_HEADERS.map((h) => [h, response.headers.get(h)])),
  });
  /** Over HTTP to the standalone server: the way agents send it. */
  const overNode = async (headers: Record<string, string>, body: string, path = HEARTBEAT_PATH) =>
    read(await fetch(`${base}${path}`, { method: 'POST', headers, body }));
  /** The same request through the fetch gateway, as the web server's route files hand it on. */
  const overFetch = async (headers: Record<string, string>, body: string, path = HEARTBEAT_PATH) =>
    read(
      (await gatewayResponse(
        plane.cp,
        new Request(`${base}${path}`, {
          method: 'POST',
          headers: { ...headers, [PEER_HEADER]: '127.0.0.1', [PEER_PROTO_HEADER]: 'http' },
          body,
        }),
        new AbortController().signal,
      ))!,
    );
  const json = (bearer?: string) => ({
    'content-type': 'application/json',
    ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
  });
  const beat = (report: Record<string, unknown>) => JSON.stringify({ json: report });
  const full = { hostname: 'beat-1', facts: {}, entries: [entry], reconcileError: null, entriesAgeMs: 5 };

  it('answers a heartbeat as tRPC does, held digests and all, and records it', async () => {
    const node = await overNode(json(credential), beat(full));
    expect(node).toEqual(await overFetch(json(credential), beat(full)));
    expect(node).toMatchObject({
      status: 200,
      body: { result: { data: { json: { ok: true, held: { facts: expect.any(String) } } } } },
      headers: { 'content-type': 'application/json', vary: 'trpc-accept, accept' },
    });
    const { held } = (
      node.body as { result: { data: { json: { held: { facts: string; entries: string } } } } }
    ).result.data.json;
    // The next one names what the server holds, as agents do.
    const unchanged = { hostname: 'beat-1', unchanged: held, reconcileError: null, entriesAgeMs: 5 };
    const before = await plane.db.host.findFirstOrThrow({ where: { hostname: 'beat-1' } });
    await new Promise((r) => setTimeout(r, 5));
    const again = await overNode(json(credential), beat(unchanged));
    expect(again).toEqual(await overFetch(json(credential), beat(unchanged)));
    const after = await plane.db.host.findFirstOrThrow({ where: { hostname: 'beat-1' } });
    expect(after.lastSeenAt!.getTime()).toBeGreaterThan(before.lastSeenAt!.getTime());
  });

  it.each([
    ['an unknown credential', () => json('x'.repeat(40)), beat(full), 401],
    ['no credential', () => json(), beat(full), 401],
    ['input the contract refuses', () => json(credential), beat({ ...full, hostname: 5 }), 400],
    [
      'digests the server does not hold (it asks for all of it again)',
      () => json(credential),
      beat({ hostname: 'beat-1', unchanged: { facts: 'a'.repeat(64), entries: 'b'.repeat(64) } }),
      200,
    ],
    ['a body that is not JSON (left to the fetch path)', () => json(credential), '{nope', 400],
    [
      'no JSON content type (left to the fetch path)',
      () => ({ 'content-type': 'text/plain' }),
      beat(full),
      415,
    ],
  ])('answers %s as tRPC does', async (_what, headers, body, status) => {
    const errors = vi.spyOn(console, 'error');
    const node = await overNode(headers(), body);
    expect(node.status).toBe(status);
    expect(node).toEqual(await overFetch(headers(), body));
    // A refusal is the agent's to act on, not an error of the server's.
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
  });

  it('gives a batched heartbeat, which it leaves to tRPC, the same answer in a list', async () => {
    const single = await overNode(json(credential), beat(full));
    const batched = await overNode(
      json(credential),
      JSON.stringify({ 0: { json: full } }),
      `${HEARTBEAT_PATH}?batch=1`,
    );
    expect(batched.body).toEqual([single.body]);
  });
});

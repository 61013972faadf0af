import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentCall, CallOutcome } from '@binfleet/agent-contract';
import { afterEach, describe, expect, it } from 'vitest';
import { DialOutChannel } from './dial-out-channel.ts';

const TOKEN = 'bfa_test-heartbeat-credential-0123456789';

/**
 * A control plane's channel on loopback: each connection gets hello and the calls of its turn
 * (`turns[n]` for the n-th connection) and is then ended; results are recorded as they are posted.
 */
async function controlPlane(turns: AgentCall[][]) {
  const results: { callId: string; attempt: number; outcome: CallOutcome }[] = [];
  const seen: string[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    if (req.url === '/api/agent/channel') {
      const calls = turns[connections++] ?? [];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `event: hello\ndata: ${JSON.stringify({ channelId: `c${connections}`, keepaliveMs: 1000 })}\n\n`,
      );
      res.write(': keepalive\n\n');
      for (const call of calls) res.write(`event: call\ndata: ${JSON.stringify(call)}\n\n`);
      // The last turn stays open, as a live channel does; earlier ones drop.
      if (connections < turns.length) res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      results.push((JSON.parse(Buffer.concat(chunks).toString()) as { json: (typeof results)[number] }).json);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: { data: { json: { accepted: true } } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server, results, seen, connections: () => connections };
}

const until = async (what: string, probe: () => boolean) => {
  for (let i = 0; i < 120; i++) {
    if (probe()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('DialOutChannel', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('runs a call delivered again after a reconnect once, and answers each attempt', async () => {
    const call: AgentCall = { id: 'call-1', attempt: 1, procedure: 'status', input: undefined };
    const cp = await controlPlane([[call], [{ ...call, attempt: 2 }]]);
    cleanups.push(() => new Promise<void>((resolve) => cp.server.close(() => resolve())));
    cp.server.on('connection', (s) => cleanups.push(() => void s.destroy()));
    let runs = 0;
    const logs: Record<string, unknown>[] = [];
    const channel = new DialOutChannel(
      async () => {
        runs++;
        return { ok: true, output: { runs } };
      },
      {
        serverUrl: cp.url,
        token: async () => TOKEN,
        log: (r) => logs.push(r),
        backoff: { baseMs: 10, maxMs: 20 },
      },
    );
    cleanups.push(() => channel.stop());
    channel.start();
    await until('both attempts answered', () => cp.results.length === 2);
    expect(runs).toBe(1);
    expect(cp.results.map((r) => [r.callId, r.attempt, r.outcome])).toEqual([
      ['call-1', 1, { ok: true, output: { runs: 1 } }],
      ['call-1', 2, { ok: true, output: { runs: 1 } }],
    ]);
    expect(cp.seen.every((s) => s.endsWith(`Bearer ${TOKEN}`))).toBe(true);
    expect(logs.map((l) => l.event)).toEqual(
      expect.arrayContaining(['channel-open', 'call', 'channel-lost', 'call-again']),
    );
  });

  it('ignores a call the contract does not allow, and goes on', async () => {
    const bad = { id: 'x', attempt: 1, procedure: 'rm -rf', input: null } as unknown as AgentCall;
    const good: AgentCall = { id: 'call-2', attempt: 1, procedure: 'facts', input: undefined };
    const cp = await controlPlane([[bad, good]]);
    cleanups.push(() => new Promise<void>((resolve) => cp.server.close(() => resolve())));
    cp.server.on('connection', (s) => cleanups.push(() => void s.destroy()));
    const ran: string[] = [];
    const logs: Record<string, unknown>[] = [];
    const channel = new DialOutChannel(
      async (c) => {
        ran.push(c.procedure);
        return { ok: true, output: null };
      },
      { serverUrl: cp.url, token: async () => TOKEN, log: (r) => logs.push(r) },
    );
    cleanups.push(() => channel.stop());
    channel.start();
    await until('the good call answered', () => cp.results.length === 1);
    expect(ran).toEqual(['facts']);
    expect(logs.some((l) => l.event === 'channel-call-refused')).toBe(true);
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { controlPlaneApi } from '@binfleet/agent-contract';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import { ControlPlaneClient } from './control-plane-client.ts';

const servers: http.Server[] = [];

/** A control plane that answers every call with `answer` (tRPC with superjson: `{ json: ... }`). */
async function controlPlaneAnswering(answer: unknown): Promise<string> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ result: { data: { json: answer } } }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

const join = {
  joinToken: 'bfj_x',
  agentId: 'agent-0001',
  agentUrl: 'http://127.0.0.1:7475',
  hostname: 'h',
  facts: {},
  entries: [],
};

describe('ControlPlaneClient', () => {
  it('refuses a join answer without the agent token, saying what is wrong', async () => {
    const url = await controlPlaneAnswering({ hostId: 'h1', heartbeatToken: 't', heartbeatIntervalMs: 1000 });
    const error = await new ControlPlaneClient(url)
      .mutation(controlPlaneApi.join, join)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({
      code: 'CONTROL_PLANE_FAILED',
      message: expect.stringMatching(/answer to agentApi\.join .*agentToken: .*--server/),
    });
  });

  it('takes answers with fields it does not know, and without the ones a contract 1 server left out', async () => {
    const url = await controlPlaneAnswering({
      hostId: 'h1',
      agentToken: 'a',
      heartbeatToken: 't',
      heartbeatIntervalMs: 1000,
      somethingNewer: { x: 1 },
    });
    expect(await new ControlPlaneClient(url).mutation(controlPlaneApi.join, join)).toEqual({
      hostId: 'h1',
      agentToken: 'a',
      heartbeatToken: 't',
      heartbeatIntervalMs: 1000,
      // Not said by a control plane of before dial-out: it calls its agents.
      transport: 'direct',
    });
  });

  it('refuses a heartbeat answer with a bad interval', async () => {
    const url = await controlPlaneAnswering({ heartbeatIntervalMs: -5 });
    await expect(
      new ControlPlaneClient(url).mutation(controlPlaneApi.heartbeat, {
        hostname: 'h',
        facts: {},
        entries: [],
      }),
    ).rejects.toMatchObject({
      code: 'CONTROL_PLANE_FAILED',
      message: expect.stringMatching(/heartbeatIntervalMs/),
    });
  });
});

import http from 'node:http';
import https from 'node:https';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import type { AgentRouter } from './router.ts';

export type AgentClient = TRPCClient<AgentRouter>;

/**
 * A typed client for one agent: `url` is the agent's base URL (https://host:7475), `token` its API
 * token. One HTTP request per call (no batching): calls to an agent are few, and a failed one then
 * fails alone. Requests go through node:http(s) and its keep-alive agent, as the control plane's
 * transport does, not Node's global fetch: undici's Request, streams and header checks cost the
 * caller ~0.6 ms of CPU more per call (an apply, `bench/agent-register.ts`; docs/operations.md).
 */
export function createAgentClient(url: string, token: string): AgentClient {
  return createTRPCClient<AgentRouter>({
    links: [
      httpLink({
        url: new URL('trpc', url.endsWith('/') ? url : `${url}/`).href,
        headers: { authorization: `Bearer ${token}` },
        fetch: nodeFetch,
      }),
    ],
  });
}

/** What tRPC's httpLink reads of an answer (its `ResponseEsque`). */
interface Answer {
  readonly ok: boolean;
  readonly status: number;
  json(): Promise<unknown>;
}

/** What tRPC's httpLink asks of fetch: one request, its answer read whole (no Fetch Response). */
function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Answer> {
  const url = new URL(input instanceof Request ? input.url : input);
  if (init.body != null && typeof init.body !== 'string')
    return Promise.reject(new TypeError('agent-client sends JSON text only'));
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => (headers[name] = value));
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: init.method ?? 'GET', headers, ...(init.signal ? { signal: init.signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 502;
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            ok: status >= 200 && status < 300,
            status,
            // A body that is no JSON rejects here, as Response.json() does.
            json: async () => JSON.parse(text) as unknown,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body ?? undefined);
  });
}

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

/** What tRPC's httpLink asks of fetch: one request, its answer read whole. */
function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
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
          const answered = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
              answered.append(name, v);
          const status = res.statusCode ?? 502;
          const empty = [101, 204, 205, 304].includes(status) || init.method === 'HEAD';
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: answered }));
        });
      },
    );
    req.on('error', reject);
    req.end(init.body ?? undefined);
  });
}

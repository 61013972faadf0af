import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { agentErrorDataSchema, packageAnswerSchema, packagePath } from '@binfleet/agent-contract';
import { createTRPCUntypedClient, httpLink, TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import type { LookupFunction } from 'node:net';
import { OutboundRefused, type OutboundInit, type OutboundPolicy } from '../security/outbound.ts';
import { AgentCallFailure, type AgentTransportFactory, type PackageUpload } from './agent-transport.ts';

/** How long a package transfer may stall (nothing sent or received) before it is given up. */
const IDLE_MS = 60_000;

/**
 * Calls an agent at its URL: its tRPC API under /trpc (one HTTP request per call, no batching: calls
 * to an agent are few, and a failed one then fails alone), and its package store under /packages,
 * streamed from disk. Both through the outbound rules: the address is resolved and checked before
 * each connection, and the connection goes to the checked address.
 */
export const httpTransport =
  (outbound: OutboundPolicy): AgentTransportFactory =>
  ({ url, token }) => {
    const base = url.endsWith('/') ? url : `${url}/`;
    const authorization = `Bearer ${token}`;
    const client = createTRPCUntypedClient<AnyTRPCRouter>({
      links: [
        httpLink({
          url: new URL('trpc', base).href,
          headers: { authorization },
          fetch: (input, init) => outbound.fetch(String(input), init as OutboundInit),
        }),
      ],
    });
    return {
      async call(procedure, kind, input, signal) {
        try {
          return kind === 'query'
            ? await client.query(procedure, input, { signal })
            : await client.mutation(procedure, input, { signal });
        } catch (error) {
          throw failureOf(error);
        }
      },
      async sendPackage(upload) {
        const url = new URL(packagePath(upload.sha256), base);
        const kept = await request(outbound, url, { method: 'GET', authorization });
        if (kept.status === 200) return 'present';
        const answer = await request(outbound, url, { method: 'PUT', authorization }, upload);
        if (answer.status === 200 || answer.status === 201) return 'sent';
        throw new AgentCallFailure(
          {
            kind: 'refused',
            data: {
              code: CODE_OF_STATUS[answer.status] ?? `HTTP_${answer.status}`,
              httpStatus: answer.status,
            },
          },
          `refused the package (HTTP ${answer.status}): ${answer.error}`,
        );
      },
    };
  };

/** A tRPC client's error: the agent's answer when it gave one, else why there was none. */
function failureOf(error: unknown): unknown {
  if (!(error instanceof TRPCClientError)) return error;
  if (error.cause instanceof OutboundRefused) return refusedByRules(error.cause);
  const data = agentErrorDataSchema.safeParse(error.data);
  if (data.success) return new AgentCallFailure({ kind: 'refused', data: data.data }, error.message);
  const reason =
    (error.cause as { cause?: { code?: string } } | undefined)?.cause?.code ??
    (error.cause as { code?: string } | undefined)?.code;
  return new AgentCallFailure({ kind: 'unreachable', ...(reason ? { reason } : {}) }, error.message);
}

/** The package store's refusals that callers tell apart, as the tRPC codes the API answers them with. */
const CODE_OF_STATUS: Record<number, string> = { 401: 'UNAUTHORIZED', 429: 'TOO_MANY_REQUESTS' };

/** The outbound rules refused the agent's address: no connection was made. */
function refusedByRules(error: OutboundRefused): AgentCallFailure {
  return new AgentCallFailure(
    { kind: 'refused', data: { code: 'FORBIDDEN' } },
    `not called: ${error.message}`,
  );
}

async function request(
  outbound: OutboundPolicy,
  url: URL,
  options: { method: 'GET' | 'PUT'; authorization: string },
  body?: PackageUpload,
): Promise<{ status: number; error: string }> {
  let lookup: LookupFunction;
  try {
    lookup = await outbound.lookupFor(url);
  } catch (error) {
    if (error instanceof OutboundRefused) throw refusedByRules(error);
    throw unreachable(error as Error);
  }
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const headers = {
      authorization: options.authorization,
      ...(body
        ? { 'content-type': 'application/vnd.debian.binary-package', 'content-length': String(body.size) }
        : {}),
    };
    const req = client.request(url, { method: options.method, headers, timeout: IDLE_MS, lookup }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, error: errorOf(text) });
      });
      res.on('error', (error) => reject(unreachable(error)));
    });
    req.on('timeout', () => req.destroy(new Error(`no progress for ${IDLE_MS / 1000} s`)));
    req.on('error', (error) => reject(unreachable(error)));
    if (!body) return void req.end();
    let sent = 0;
    const file = createReadStream(body.path);
    file.on('data', (chunk) => {
      sent += chunk.length;
      body.onProgress?.(sent);
    });
    file.on('error', (error) => req.destroy(error));
    file.pipe(req);
  });
}

/** The package store's own words for a refusal, else the start of whatever answered. */
function errorOf(text: string): string {
  try {
    const answer = packageAnswerSchema.safeParse(JSON.parse(text));
    if (answer.success && answer.data.error) return answer.data.error;
  } catch {
    // not JSON: the text as is
  }
  return text.slice(0, 500);
}

function unreachable(error: Error & { code?: string }): AgentCallFailure {
  return new AgentCallFailure({ kind: 'unreachable', reason: error.code ?? error.message }, error.message);
}

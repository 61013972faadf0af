import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { controlPlaneApi } from '@binfleet/agent-contract';
import type { z } from 'zod';
import { AgentError } from '../errors.ts';

type ControlPlaneProcedure = (typeof controlPlaneApi)[keyof typeof controlPlaneApi];

/**
 * Calls the control plane's agent API (`/api/trpc/agentApi.*`). Plain HTTP with tRPC's wire format
 * rather than a typed client: the agent does not depend on the web app, only on the contract, whose
 * schemas check each answer before the agent acts on it. node:http rather than fetch: a heartbeat
 * through fetch (undici's streams and Request objects) cost the agent more CPU than the whole
 * report it carries.
 */
export class ControlPlaneClient {
  constructor(
    readonly serverUrl: string,
    private readonly timeoutMs = 15_000,
  ) {}

  async mutation<P extends ControlPlaneProcedure>(
    procedure: P,
    input: z.input<P['input']>,
    bearer?: string,
  ): Promise<z.output<P['output']>> {
    const url = new URL(
      `api/trpc/${procedure.path}`,
      this.serverUrl.endsWith('/') ? this.serverUrl : `${this.serverUrl}/`,
    );
    let response: { readonly status: number; readonly text: string };
    try {
      response = await post(
        url,
        {
          'content-type': 'application/json',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        JSON.stringify({ json: input }),
        this.timeoutMs,
      );
    } catch (error) {
      throw this.unreachable((error as NodeJS.ErrnoException).code ?? (error as Error).name);
    }
    let body:
      | {
          result?: { data?: { json?: unknown } };
          error?: { json?: { message?: string; data?: { httpStatus?: number } } };
        }
      | undefined;
    try {
      body = JSON.parse(response.text) as typeof body;
    } catch {
      body = undefined;
    }
    const ok = response.status >= 200 && response.status < 300;
    if (!ok || !body?.result?.data || !('json' in body.result.data)) {
      const message = body?.error?.json?.message ?? `HTTP ${response.status}`;
      throw new AgentError(
        response.status === 401 ? 'CONTROL_PLANE_REFUSED' : 'CONTROL_PLANE_FAILED',
        `The control plane answered: ${message}`,
      );
    }
    const answer = procedure.output.safeParse(body.result.data.json);
    if (!answer.success) {
      const issues = answer.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`);
      throw new AgentError(
        'CONTROL_PLANE_FAILED',
        `The control plane's answer to ${procedure.path} is not one this agent understands (${issues.join('; ')}): check that --server is a binfleet control plane, of a version that serves this agent.`,
      );
    }
    return answer.data as z.output<P['output']>;
  }

  /**
   * A file the control plane serves an agent at `path` (a package for a build of a dial-out builder),
   * as a stream, authenticated with `bearer`; it may take up to `timeoutMs` in all.
   */
  async download(path: string, bearer: string, timeoutMs: number): Promise<Readable> {
    const url = new URL(path, this.serverUrl.endsWith('/') ? this.serverUrl : `${this.serverUrl}/`);
    const response = await this.send(url, {
      headers: { authorization: `Bearer ${bearer}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => undefined)) as
        { error?: { message?: string } } | undefined;
      throw new AgentError(
        response.status === 401 ? 'CONTROL_PLANE_REFUSED' : 'CONTROL_PLANE_FAILED',
        `The control plane answered: ${body?.error?.message ?? `HTTP ${response.status}`}`,
      );
    }
    return Readable.fromWeb(response.body as ReadableStream<Uint8Array>);
  }

  /** Through fetch: a stream to hand on, once in a while (calls go through post()). */
  private async send(url: URL, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (error) {
      throw this.unreachable((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name);
    }
  }

  private unreachable(cause: string): AgentError {
    return new AgentError(
      'CONTROL_PLANE_UNREACHABLE',
      `Cannot reach the control plane at ${this.serverUrl} (${cause}): check --server and the network.`,
    );
  }
}

/** One POST (keep-alive, Node's default agents), its status and body; rejects when it gets no answer within `timeoutMs`. */
async function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  // https (and TLS with it) loaded only for a control plane that is called over it.
  const send = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, text });
        });
        response.on('error', fail);
      },
    );
    const timer = setTimeout(
      () => request.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    request.on('error', fail);
    request.end(body);
  });
}

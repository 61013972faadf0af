import { AgentError } from '../errors.ts';

/**
 * Calls the control plane's agent API (`/api/trpc/agentApi.*`). Plain fetch with tRPC's wire format
 * rather than a typed client: the web app depends on this package, not the other way round.
 */
export class ControlPlaneClient {
  constructor(
    readonly serverUrl: string,
    private readonly timeoutMs = 15_000,
  ) {}

  async mutation<T>(procedure: string, input: unknown, bearer?: string): Promise<T> {
    const url = new URL(
      `api/trpc/agentApi.${procedure}`,
      this.serverUrl.endsWith('/') ? this.serverUrl : `${this.serverUrl}/`,
    );
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: JSON.stringify({ json: input }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new AgentError(
        'CONTROL_PLANE_UNREACHABLE',
        `Cannot reach the control plane at ${this.serverUrl} (${cause}): check --server and the network.`,
      );
    }
    const body = (await response.json().catch(() => undefined)) as
      | {
          result?: { data?: { json?: T } };
          error?: { json?: { message?: string; data?: { httpStatus?: number } } };
        }
      | undefined;
    if (response.ok && body?.result?.data && 'json' in body.result.data) return body.result.data.json as T;
    const message = body?.error?.json?.message ?? `HTTP ${response.status}`;
    throw new AgentError(
      response.status === 401 ? 'CONTROL_PLANE_REFUSED' : 'CONTROL_PLANE_FAILED',
      `The control plane answered: ${message}`,
    );
  }
}

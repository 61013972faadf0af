import { isFinished } from '../../shared/run-status.ts';
import type { ApiClient } from './api-client.ts';

/** Polls `probe` until it returns something truthy, or fails naming what it waited for. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false | null>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Polls jobs.get until the job is final, and returns it. Errors of the API (a control plane that a
 * fault test restarts) are retried; the last one is named should the wait time out.
 */
export async function finishedJob<T extends { status: string }>(
  api: ApiClient,
  id: string,
  timeoutMs = 90_000,
): Promise<T> {
  let lastError: string | undefined;
  try {
    return await until(
      `job ${id} to finish`,
      async () => {
        const r = await api.query<T>('jobs.get', { id }).catch((error: unknown) => {
          lastError = String(error);
          return undefined;
        });
        if (r?.error) lastError = `${r.status} ${r.error.message}`;
        return r?.data && isFinished(r.data.status) && r.data;
      },
      timeoutMs,
    );
  } catch (error) {
    if (!lastError) throw error;
    throw new Error(`${(error as Error).message} (jobs.get last failed: ${lastError})`, { cause: error });
  }
}

/**
 * Reads a tRPC subscription over SSE as the browser does (`jobs.watch`, `builds.watch`) until the
 * object it streams reaches a final status; returns every value seen.
 */
export async function watchUntilFinal<T extends { status: string }>(
  client: ApiClient,
  procedure: string,
  input: unknown,
  timeoutMs = 60_000,
): Promise<T[]> {
  const response = await client.raw(
    `/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`,
    {
      headers: { accept: 'text/event-stream' },
      signal: AbortSignal.timeout(timeoutMs),
    },
  );
  if (!response.headers.get('content-type')?.includes('text/event-stream')) {
    throw new Error(`${procedure} did not answer with server-sent events (${response.status})`);
  }
  const seen: T[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = /^data: (.*)$/m.exec(event)?.[1];
      const value = data ? (JSON.parse(data) as { json?: T }).json : undefined;
      if (value?.status) seen.push(value);
      if (value && isFinished(value.status)) return seen;
    }
  }
  return seen;
}

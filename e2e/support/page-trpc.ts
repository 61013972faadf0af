import type { Page } from '@playwright/test';

/**
 * tRPC calls from inside a page, with its own session (and its CSRF secret for mutations), as the
 * dashboard sends them: for specs and the README pictures that need data the page does not show.
 */
/** A tRPC query through the page's own session. */
export async function query<T>(page: Page, procedure: string, input?: unknown): Promise<T> {
  return page.evaluate(
    async ([p, i]) => {
      const qs = i === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify({ json: i }))}`;
      const res = await fetch(`/api/trpc/${p}${qs}`);
      if (!res.ok) throw new Error(`${p}: HTTP ${res.status}`);
      return (await res.json()).result.data.json;
    },
    [procedure, input] as const,
  ) as Promise<T>;
}

/** A tRPC mutation with the session's CSRF secret, as the dashboard sends it. */
export async function mutation<T>(page: Page, procedure: string, input: unknown): Promise<T> {
  const { csrf } = await query<{ csrf: string }>(page, 'auth.me');
  return page.evaluate(
    async ([p, i, secret]) => {
      const res = await fetch(`/api/trpc/${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-binfleet-csrf': secret },
        body: JSON.stringify({ json: i }),
      });
      if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()).result.data.json;
    },
    [procedure, input, csrf] as const,
  ) as Promise<T>;
}

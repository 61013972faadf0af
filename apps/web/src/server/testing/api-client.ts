import superjson from 'superjson';

/**
 * A browser's view of the API for tests: cookies, the CSRF header, tRPC's HTTP format with superjson.
 * Errors come back as values (status + message), so tests can assert on refusals.
 */
export interface ApiResult<T> {
  readonly status: number;
  readonly data?: T;
  readonly error?: { message: string; code: string };
}

export class ApiClient {
  private cookie = '';
  private csrf = '';

  constructor(readonly baseUrl: string) {}

  static async signIn(baseUrl: string, username: string, password: string): Promise<ApiClient> {
    const client = new ApiClient(baseUrl);
    const r = await client.mutation<{ csrf: string }>('auth.login', { username, password });
    if (!r.data) throw new Error(`sign-in as ${username} failed: ${r.error?.message}`);
    return client;
  }

  async query<T>(path: string, input?: unknown): Promise<ApiResult<T>> {
    const q =
      input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
    return this.send<T>(`${this.baseUrl}/api/trpc/${path}${q}`, { method: 'GET' });
  }

  async mutation<T>(path: string, input?: unknown, options: { csrf?: string } = {}): Promise<ApiResult<T>> {
    return this.send<T>(`${this.baseUrl}/api/trpc/${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-binfleet-csrf': options.csrf ?? (this.csrf || 'sign-in'),
      },
      body: JSON.stringify(superjson.serialize(input ?? null)),
    });
  }

  /** The session's cookie and CSRF secret, for requests outside tRPC (package uploads). */
  get sessionHeaders(): { cookie: string; 'x-binfleet-csrf': string } {
    return { cookie: this.cookie, 'x-binfleet-csrf': this.csrf };
  }

  /** Unwraps a successful result or throws with the server's message. */
  async ok<T>(result: Promise<ApiResult<T>>): Promise<T> {
    const r = await result;
    if (r.error) throw new Error(`API call failed (${r.status}): ${r.error.message}`);
    return r.data as T;
  }

  /** A request with this session's cookie, for what is not a plain query or mutation (SSE). */
  raw(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), cookie: this.cookie },
    });
  }

  private async send<T>(url: string, init: RequestInit): Promise<ApiResult<T>> {
    const response = await fetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), cookie: this.cookie },
    });
    for (const c of response.headers.getSetCookie()) this.cookie = c.split(';')[0]!;
    const body = (await response.json()) as {
      result?: { data: { json: unknown; meta?: unknown } };
      error?: { json: { message: string; data: { code: string } } };
    };
    if (body.result) {
      const data = superjson.deserialize(
        body.result.data as Parameters<typeof superjson.deserialize>[0],
      ) as T;
      const csrf = (data as { csrf?: unknown } | null)?.csrf;
      if (typeof csrf === 'string') this.csrf = csrf;
      return { status: response.status, data };
    }
    return {
      status: response.status,
      error: { message: body.error?.json.message ?? '', code: body.error?.json.data.code ?? '' },
    };
  }
}

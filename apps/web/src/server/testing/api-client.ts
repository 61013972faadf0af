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
  /** The cookie jar, by name (a sign-in sets the session and the device cookie). */
  private readonly cookies = new Map<string, string>();
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

  /** The Cookie header this client sends. */
  get cookie(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Takes the cookies a response sets (an empty value or Max-Age=0 removes one). */
  keepCookies(response: Response): void {
    for (const c of response.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1)];
      if (value === '' || /;\s*max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Another client (no session) that keeps only this one's device cookie: the same browser, signed out. */
  sameBrowser(): ApiClient {
    const other = new ApiClient(this.baseUrl);
    const device = this.cookies.get('bf_device');
    if (device) other.cookies.set('bf_device', device);
    return other;
  }

  private async send<T>(url: string, init: RequestInit): Promise<ApiResult<T>> {
    const response = await fetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), cookie: this.cookie },
    });
    this.keepCookies(response);
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

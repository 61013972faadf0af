import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OutboundPolicy } from '../../security/outbound.ts';
import { MAX_TAGS, RegistryClient } from './registry-client.ts';

// A registry that misbehaves on purpose, on a loopback port (the real one at 127.0.0.1:5000 cannot),
// and a second server on another origin that must never be sent anything it should not get.
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let route: Handler = (_req, res) => res.writeHead(404).end();
const seenElsewhere: { url: string; authorization?: string }[] = [];
let registry: http.Server;
let elsewhere: http.Server;
let registryUrl: string;
let elsewhereUrl: string;
const open = new OutboundPolicy({ allow: [] });
const credentials = { username: 'robot', password: 'registry-secret-1' };

const listen = async (server: http.Server, host: string) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  registry = http.createServer((req, res) => route(req, res));
  elsewhere = http.createServer((req, res) => {
    seenElsewhere.push({
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"foreign-token"}');
  });
  registryUrl = await listen(registry, '127.0.0.1');
  // Another origin on this machine: "localhost" is not "127.0.0.1".
  elsewhereUrl = await listen(elsewhere, 'localhost');
});
afterAll(() => {
  registry.close();
  elsewhere.close();
});

const json = (res: http.ServerResponse, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

describe('RegistryClient against a hostile registry', () => {
  it('sends no credentials to a Bearer realm on another origin over plain http', async () => {
    seenElsewhere.length = 0;
    route = (req, res) =>
      req.headers.authorization === 'Bearer foreign-token'
        ? json(res, { tags: ['1.0'] })
        : res
            .writeHead(401, { 'www-authenticate': `Bearer realm="${elsewhereUrl}/token",service="x"` })
            .end();
    const client = new RegistryClient(registryUrl, open, credentials);
    expect((await client.tags('r')).tags).toEqual(['1.0']);
    expect(seenElsewhere).toHaveLength(1);
    expect(seenElsewhere[0]!.authorization).toBeUndefined();
  });

  it('sends its credentials to a realm on its own origin', async () => {
    let sent: string | undefined;
    route = (req, res) => {
      if (req.url?.startsWith('/token')) {
        sent = req.headers.authorization;
        return json(res, { token: 'own-token' });
      }
      return req.headers.authorization === 'Bearer own-token'
        ? json(res, { tags: ['2.0'] })
        : res.writeHead(401, { 'www-authenticate': `Bearer realm="${registryUrl}/token"` }).end();
    };
    expect((await new RegistryClient(registryUrl, open, credentials).tags('r')).tags).toEqual(['2.0']);
    expect(sent).toBe(`Basic ${Buffer.from('robot:registry-secret-1').toString('base64')}`);
  });

  it('follows a redirect within its origin, refuses one to another host before calling it', async () => {
    seenElsewhere.length = 0;
    route = (req, res) =>
      req.url === '/v2/same/tags/list?n=1000'
        ? res.writeHead(307, { location: '/v2/moved/tags/list' }).end()
        : req.url === '/v2/moved/tags/list'
          ? json(res, { tags: ['3.0'] })
          : res.writeHead(302, { location: `${elsewhereUrl}/v2/r/tags/list` }).end();
    const client = new RegistryClient(registryUrl, open);
    expect((await client.tags('same')).tags).toEqual(['3.0']);
    await expect(client.tags('away')).rejects.toMatchObject({
      code: 'REGISTRY_FAILED',
      message: expect.stringMatching(/redirected to another origin \(http:\/\/localhost:\d+\): not followed/),
    });
    expect(seenElsewhere).toEqual([]);
  });

  it('keeps only tags of the OCI grammar, at most MAX_TAGS, and follows Link pages only within its origin', async () => {
    const hostile = ['$(id)', 'a\nb', '../x', '-x', 'x'.repeat(200), '<script>', 7, null];
    let page = 0;
    route = (_req, res) => {
      page++;
      const tags = Array.from({ length: 4000 }, (_, i) => `p${page}-${i}`);
      return json(
        res,
        { tags: page === 1 ? [...hostile, ...tags] : tags },
        {
          link:
            page < 5
              ? `</v2/r/tags/list?n=1000&last=p${page}>; rel="next"`
              : `<${elsewhereUrl}/x>; rel="next"`,
        },
      );
    };
    const { tags, refused } = await new RegistryClient(registryUrl, open).tags('r');
    expect(tags).toHaveLength(MAX_TAGS);
    expect(refused).toBe(hostile.length);
    expect(tags.every((t) => /^p\d-\d+$/.test(t))).toBe(true);
  });

  it('cuts off an answer that is too large', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"tags":["');
      const chunk = 'a'.repeat(1024 * 1024);
      for (let i = 0; i < 12; i++) res.write(chunk);
      res.end('"]}');
    };
    await expect(new RegistryClient(registryUrl, open).tags('r')).rejects.toMatchObject({
      message: expect.stringMatching(/answered more than 8388608 bytes: cut off/),
    });
  });

  it("never echoes an answer's body or reason phrase: the status and its standard reason only", async () => {
    route = (_req, res) => {
      res.statusMessage = 'INJECTED-REASON';
      res.writeHead(500).end('<html>SECRET-BODY internal details</html>');
    };
    const error = await new RegistryClient(registryUrl, open).tags('r').catch((e: Error) => e);
    expect(error).toMatchObject({
      message: expect.stringMatching(/answered HTTP 500 Internal Server Error to GET/),
    });
    expect((error as Error).message).not.toMatch(/SECRET-BODY|INJECTED-REASON/);
  });
});

describe('RegistryClient: link-local and metadata addresses are refused before any connection', () => {
  it.each([
    'http://169.254.169.254',
    'http://169.254.169.254:80/latest',
    'http://[fe80::1]:5000',
    'http://[::ffff:169.254.169.254]',
    'http://0xa9fea9fe',
    'http://2852039166',
    'http://169.254.0.1',
    'http://[fd00:ec2::254]',
    'http://100.100.100.200',
    'http://0.0.0.0:5000',
  ])('%s', async (url) => {
    const request = vi.spyOn(http, 'request');
    try {
      await expect(new RegistryClient(url, open, credentials).tags('r')).rejects.toMatchObject({
        code: 'REGISTRY_FAILED',
        message: expect.stringMatching(
          /was not called: .* is a link-local or cloud metadata address: never called/,
        ),
      });
      expect(request).not.toHaveBeenCalled();
    } finally {
      request.mockRestore();
    }
  });

  it('resolves a name first and refuses it when any of its addresses is one, before connecting', async () => {
    const request = vi.spyOn(http, 'request');
    const resolving = new OutboundPolicy({
      allow: [],
      resolve: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ],
    });
    try {
      await expect(new RegistryClient('http://rebind.test:5000', resolving).tags('r')).rejects.toMatchObject({
        message: expect.stringMatching(/rebind.test resolves to 169.254.169.254, which is a link-local/),
      });
      expect(request).not.toHaveBeenCalled();
    } finally {
      request.mockRestore();
    }
  });

  it('with BINFLEET_OUTBOUND_ALLOW, refuses what it does not name: loopback here', async () => {
    const narrowed = new OutboundPolicy({ allow: ['10.0.0.0/8', 'registry.lan'] });
    await expect(new RegistryClient(registryUrl, narrowed).tags('r')).rejects.toMatchObject({
      message: expect.stringMatching(/127.0.0.1 \(127.0.0.1\) is not in BINFLEET_OUTBOUND_ALLOW/),
    });
  });
});

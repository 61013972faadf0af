import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startAgent, startSandbox, type AgentProcess, type Sandbox } from '@binfleet/test-sandbox';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient } from './agent-client.ts';

// `PUT /packages/<sha256>` of a real agent process, with the real Debian qemu-user-static .deb.
const TOKEN = 'test-token-0123456789abcdefghijklmnop';
const DEB = process.env.BINFLEET_QEMU_DEB;
const LIMIT = 64 * 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly body: { ok: boolean; error?: string; size?: number };
  /** Body bytes written when the answer arrived. */
  readonly sent: number;
}

/**
 * A PUT that declares `declared` bytes (or streams chunked without a length) and sends them a
 * megabyte at a time, but only as long as no answer has come: `sent` shows how much the agent had
 * read when it answered.
 */
function slowPut(url: string, headers: Record<string, string>, declared?: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(url, {
      method: 'PUT',
      headers: { ...headers, ...(declared === undefined ? {} : { 'content-length': String(declared) }) },
    });
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()), sent });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const pump = () => {
      if (answered || req.destroyed) return;
      if (declared !== undefined && sent + chunk.length > declared) return;
      sent += chunk.length;
      req.write(chunk, () => setTimeout(pump, 5));
    };
    pump();
  });
}

describe.skipIf(!DEB)('binfleet-agent serve: package uploads', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let agent: AgentProcess;
  let sha256: string;
  let size: number;
  const packagesDir = () => join(stateDir, 'packages');
  const stored = async () => (await readdir(packagesDir()).catch(() => [] as string[])).sort();
  const auth = { authorization: `Bearer ${TOKEN}` };
  const put = (hash: string, body: string | ReadableStream, headers: Record<string, string> = auth) =>
    fetch(`${agent.url}/packages/${hash}`, { method: 'PUT', headers, body, duplex: 'half' } as RequestInit);

  beforeAll(async () => {
    sandbox = await startSandbox();
    stateDir = await mkdtemp(join(tmpdir(), 'binfleet-agent-state-'));
    agent = await startAgent(sandbox, {
      stateDir,
      args: ['--max-package-size', '64M'],
      env: { BINFLEET_AGENT_TOKEN: TOKEN },
    });
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(DEB!)) hash.update(chunk as Buffer);
    sha256 = hash.digest('hex');
    size = (await stat(DEB!)).size;
  });
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('refuses a request without the token before reading its body', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789abcdefghij' }] as Record<
      string,
      string
    >[]) {
      const answer = await slowPut(`${agent.url}/packages/${sha256}`, headers, 200 * 1024 * 1024);
      expect(answer.status).toBe(401);
      expect(answer.body.error).toMatch(/Authorization: Bearer/);
      // Far less than the 200 MiB declared had gone out when the answer came.
      expect(answer.sent).toBeLessThan(32 * 1024 * 1024);
    }
    expect(await stored()).toEqual([]);
  });

  it('refuses a declared size over the limit at once, and an undeclared one once it passes it', async () => {
    const declared = await slowPut(`${agent.url}/packages/${sha256}`, auth, LIMIT + 1);
    expect(declared.status).toBe(413);
    expect(declared.body.error).toMatch(
      /larger than this builder accepts \(67108864 bytes\).*--max-package-size/,
    );
    expect(declared.sent).toBeLessThan(LIMIT / 2);

    const chunked = await slowPut(`${agent.url}/packages/${sha256}`, auth);
    expect(chunked.status).toBe(413);
    expect(chunked.sent).toBeGreaterThan(LIMIT);
    expect(await stored()).toEqual([]);
  });

  it('keeps nothing of an upload whose sha256 is not the one named', async () => {
    const wrong = createHash('sha256').update('something else').digest('hex');
    const res = await put(wrong, Readable.toWeb(createReadStream(DEB!)) as ReadableStream);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Answer['body']).error).toContain(`sha256 is ${sha256}, not ${wrong}`);
    expect(await stored()).toEqual([]);
  });

  it('refuses names that are no sha256', async () => {
    for (const name of ['..%2F..%2Fetc%2Fpasswd', 'ABC', `${sha256}.deb`]) {
      const res = await put(name, 'x');
      expect(res.status).toBe(400);
    }
  });

  it('stores the real .deb by its hash, once, and a build can name it', async () => {
    const first = await put(sha256, Readable.toWeb(createReadStream(DEB!)) as ReadableStream);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ ok: true, sha256, size });
    const again = await put(sha256, Readable.toWeb(createReadStream(DEB!)) as ReadableStream);
    expect(again.status).toBe(200);
    expect(await stored()).toEqual([`${sha256}.deb`]);
    const kept = await readFile(join(packagesDir(), `${sha256}.deb`));
    expect(createHash('sha256').update(kept).digest('hex')).toBe(sha256);
    expect((await stat(join(packagesDir(), `${sha256}.deb`))).mode & 0o777).toBe(0o600);

    const found = await fetch(`${agent.url}/packages/${sha256}`, { headers: auth });
    expect(await found.json()).toEqual({ ok: true, sha256, size });
    const missing = await fetch(`${agent.url}/packages/${'0'.repeat(64)}`, { headers: auth });
    expect(missing.status).toBe(404);
  });

  it('builds name stored packages by hash: an unknown one is refused with what to do', async () => {
    const client = createAgentClient(agent.url, TOKEN);
    const error = await client.build
      .mutate({ packageSha256: 'f'.repeat(64), registry: '127.0.0.1:5000', repository: 'x/y' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as Error).message).toMatch(/No package f{64} on this builder: upload it first/);
    const both = await client.build
      .mutate({
        packageSha256: sha256,
        packagePath: '/srv/packages/x.deb',
        registry: '127.0.0.1:5000',
        repository: 'x/y',
      })
      .catch((e: unknown) => e);
    expect((both as Error).message).toMatch(/as packagePath or packageSha256, or the packages as packages/);
  });
});

import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Db } from '@binfleet/db';
import { fixtures } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from './testing/api-client.ts';
import { DATABASES } from './testing/fixture.ts';
import { startFleet, type Fleet } from './testing/fleet.ts';

// POST /api/packages on a real control plane process, with Debian's qemu-user-static .deb: who may
// upload, the limits, what is refused, and that one file is one record, on SQLite and PostgreSQL.
const LIMIT = 64 * 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown> & { error?: string };
  /** Body bytes written when the answer came. */
  readonly sent: number;
}

/** Streams `size` bytes (or the file) a megabyte at a time, but only until an answer comes. */
function upload(url: string, headers: Record<string, string>, body: { file: string } | { size: number }) {
  return new Promise<Answer>((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const declared = 'file' in body ? statSync(body.file).size : body.size;
    const req = http.request(`${url}/api/packages`, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(declared) },
    });
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : {}, sent });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if ('file' in body) {
      const file = createReadStream(body.file);
      file.on('data', (c) => (sent += c.length));
      file.pipe(req);
      return;
    }
    const chunk = Buffer.alloc(1024 * 1024, 1);
    const pump = () => {
      if (answered || req.destroyed || sent + chunk.length > declared) return;
      sent += chunk.length;
      req.write(chunk, () => setTimeout(pump, 5));
    };
    pump();
  });
}

describe.each(DATABASES)('package uploads on %s', (_name, database) => {
  let fleet: Fleet;
  let db: Db;
  let dataDir: string;
  let admin: ApiClient;
  const deb = () => fixtures().qemuDeb;
  const headersOf = (client: ApiClient, filename = basename(deb())) => ({
    ...client.sessionHeaders,
    'x-binfleet-filename': encodeURIComponent(filename),
  });
  const stored = () =>
    existsSync(join(dataDir, 'packages'))
      ? readdirSync(join(dataDir, 'packages')).filter((f) => !f.startsWith('.'))
      : [];
  const signIn = (username: string, password: string) => fleet.signIn({ username, password });

  beforeAll(async () => {
    fleet = await startFleet({
      name: 'packages',
      database,
      agents: 0,
      env: { BINFLEET_PACKAGE_MAX_BYTES: String(LIMIT), BINFLEET_RUNNER: 'off' },
      users: (['viewer', 'operator'] as const).map((role) => ({
        username: role,
        password: `${role}-password-1`,
        role,
      })),
    });
    ({ db, dataDir, api: admin } = fleet);
  }, 120_000);

  afterAll(() => fleet?.stop());

  it('refuses anyone but a signed-in admin with the CSRF header, before reading the body', async () => {
    const big = { size: 200 * 1024 * 1024 };
    const anonymous = await upload(fleet.url, {}, big);
    expect(anonymous).toMatchObject({ status: 401, body: { error: 'Sign in first.' } });
    expect(anonymous.sent).toBeLessThan(32 * 1024 * 1024);

    const noCsrf = await upload(fleet.url, { cookie: admin.sessionHeaders.cookie }, big);
    expect(noCsrf).toMatchObject({ status: 403, body: { error: expect.stringMatching(/CSRF/) } });

    for (const role of ['viewer', 'operator']) {
      const user = await signIn(role, `${role}-password-1`);
      const refused = await upload(fleet.url, headersOf(user), big);
      expect(refused).toMatchObject({
        status: 403,
        body: { error: `Uploading packages needs the admin role; you are ${role}. Ask an admin.` },
      });
      expect(refused.sent).toBeLessThan(32 * 1024 * 1024);
    }
    expect(await db.uploadedPackage.count()).toBe(0);
  });

  it('refuses a file over the limit: at once when declared, else once it passes the limit', async () => {
    const declared = await upload(fleet.url, headersOf(admin), { size: LIMIT + 1 });
    expect(declared.status).toBe(413);
    expect(declared.body.error).toMatch(/larger than 67108864 bytes.*BINFLEET_PACKAGE_MAX_BYTES/);
    expect(declared.sent).toBeLessThan(LIMIT / 2);

    // Without a length (chunked), as a client that does not say may send it.
    const res = await fetch(`${fleet.url}/api/packages`, {
      method: 'POST',
      headers: headersOf(admin),
      body: Readable.toWeb(
        Readable.from(
          (function* () {
            for (let i = 0; i < 70; i++) yield Buffer.alloc(1024 * 1024, 2);
          })(),
        ),
      ) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(stored()).toEqual([]);
    expect(await db.uploadedPackage.count()).toBe(0);
  });

  it('refuses what is not a qemu-user-static .deb, and keeps nothing of it', async () => {
    const text = await fetch(`${fleet.url}/api/packages`, {
      method: 'POST',
      headers: headersOf(admin, 'notes.deb'),
      body: 'not a package at all, but long enough to be read as one\n'.repeat(10),
    });
    expect(text.status).toBe(400);
    expect(((await text.json()) as { error: string }).error).toMatch(
      /no Debian package: it is not an ar archive/,
    );

    // A real Debian package, but not one with emulators.
    const busyboxDeb = readdirSync(dirname(deb())).find((f) => /^busybox-static_.*_amd64\.deb$/.test(f));
    const busybox = await fetch(`${fleet.url}/api/packages`, {
      method: 'POST',
      headers: headersOf(admin, busyboxDeb!),
      body: readFileSync(join(dirname(deb()), busyboxDeb!)),
    });
    expect(busybox.status).toBe(400);
    const message = ((await busybox.json()) as { error: string }).error;
    expect(message).toMatch(
      /has no usr\/bin\/qemu-<target>-static emulator: give a qemu-user-static package/,
    );
    // Named by the upload's name, not by where the server keeps files.
    expect(message).not.toContain(dataDir);
    expect(stored()).toEqual([]);
    expect(await db.uploadedPackage.count()).toBe(0);
  });

  it('stores the real .deb streamed, records it once per sha256, and audits each upload', async () => {
    const sha256 = createHash('sha256').update(readFileSync(deb())).digest('hex');
    const first = await upload(fleet.url, headersOf(admin), { file: deb() });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      sha256,
      filename: basename(deb()),
      size: statSync(deb()).size,
      name: 'qemu-user-static',
      version: expect.stringMatching(/^1:7\.2/),
      architecture: 'amd64',
      uploadedBy: 'admin',
    });
    const again = await upload(fleet.url, headersOf(admin, 'renamed.deb'), { file: deb() });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(stored()).toEqual([`${sha256}.deb`]);
    expect(await db.uploadedPackage.count()).toBe(1);

    const listed = await admin.ok(admin.query<{ id: string; sha256: string }[]>('builds.packages'));
    expect(listed.map((p) => p.sha256)).toEqual([sha256]);
    const audit = await db.auditEvent.findMany({
      where: { action: 'package.upload' },
      orderBy: { at: 'asc' },
    });
    // Refused ones too: the undeclared one over the limit, the text file, the busybox package.
    expect(audit.map((a) => [a.outcome, (a.params as { created?: boolean }).created])).toEqual([
      ['failure', undefined],
      ['failure', undefined],
      ['failure', undefined],
      ['success', true],
      ['success', false],
    ]);
    expect(audit[0]!.detail).toMatch(/larger than 67108864 bytes/);
    expect(await db.auditEvent.count({ where: { action: 'auth.denied' } })).toBe(2);
  });

  it('lets admins delete an upload no queued or running build uses; finished builds keep their facts', async () => {
    const pkg = (await upload(fleet.url, headersOf(admin), { file: deb() })).body as {
      id: string;
      sha256: string;
      version: string;
    };
    expect(stored()).toEqual([`${pkg.sha256}.deb`]);
    const facts = {
      packageId: pkg.id,
      packageName: 'qemu-user-static',
      packageVersion: pkg.version,
      packageArch: 'amd64',
      packageSha256: pkg.sha256,
      qemuVersion: '7.2',
    };
    const running = await db.build.create({ data: { ...facts, status: 'running' }, select: { id: true } });
    // A build of several packages whose second one is this upload.
    const other = '/var/cache/binfleet/qemu-user-static_arm64.deb';
    const queued = await db.build.create({
      data: {
        ...facts,
        packageId: null,
        packagePath: other,
        packageArch: '',
        status: 'queued',
        inputs: {
          create: [
            { position: 0, path: other },
            { position: 1, packageId: pkg.id },
          ],
        },
      },
      select: { id: true },
    });
    const finished = await db.build.create({
      data: { ...facts, status: 'succeeded', finishedAt: new Date() },
      select: { id: true },
    });

    for (const role of ['viewer', 'operator']) {
      const user = await signIn(role, `${role}-password-1`);
      const refused = await user.mutation('builds.deletePackage', { id: pkg.id });
      expect(refused.error?.code).toBe('FORBIDDEN');
    }
    const busy = await admin.mutation('builds.deletePackage', { id: pkg.id });
    expect(busy.error).toMatchObject({ code: 'CONFLICT' });
    expect(busy.error!.message).toContain(`build ${running.id} (running)`);
    expect(busy.error!.message).toContain(`build ${queued.id} (queued)`);
    expect(busy.error!.message).not.toContain(finished.id);
    expect(stored()).toEqual([`${pkg.sha256}.deb`]);
    expect(await db.uploadedPackage.count()).toBe(1);

    await db.build.updateMany({
      where: { id: { in: [running.id, queued.id] } },
      data: { status: 'failed', finishedAt: new Date() },
    });
    await admin.ok(admin.mutation('builds.deletePackage', { id: pkg.id }));
    expect(stored()).toEqual([]);
    expect(await db.uploadedPackage.count()).toBe(0);
    expect(await admin.ok(admin.query('builds.packages'))).toEqual([]);
    // Their history stays; only the link to the upload goes.
    const kept = await admin.ok(admin.query<Record<string, unknown>>('builds.get', { id: finished.id }));
    expect(kept).toMatchObject({
      status: 'succeeded',
      packageId: null,
      uploadedFilename: null,
      packageVersion: pkg.version,
      packageSha256: pkg.sha256,
    });
    expect((await admin.mutation('builds.deletePackage', { id: pkg.id })).error?.code).toBe('NOT_FOUND');

    const audit = await db.auditEvent.findMany({
      where: { action: 'package.delete' },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => [a.actorName, a.outcome, a.targets])).toEqual([
      ['admin', 'failure', [basename(deb())]],
      ['admin', 'success', [basename(deb())]],
    ]);
    expect(audit[0]!.detail).toContain(running.id);
    expect(audit[1]!.params).toMatchObject({ packageId: pkg.id, sha256: pkg.sha256 });

    // Uploaded again, it is a new record with its file back.
    const again = await upload(fleet.url, headersOf(admin), { file: deb() });
    expect(again.status).toBe(201);
    expect(stored()).toEqual([`${pkg.sha256}.deb`]);
  });
});

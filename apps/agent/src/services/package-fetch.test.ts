import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskPackageStore } from '@binfleet/deb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentPackageStore } from '../adapters/agent-package-store.ts';
import { ControlPlaneClient } from '../control-plane/control-plane-client.ts';
import { PackageFetcher } from './package-fetch.ts';

const member = (name: string, size: number) =>
  `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(size).padEnd(10)}\`\n`;
/** The smallest thing the store takes for a Debian package: an ar archive starting with debian-binary. */
const DEB = Buffer.from(
  `!<arch>\n${member('debian-binary', 4)}2.0\n${member('control.tar.xz', 0)}`,
  'latin1',
);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A control plane on loopback serving `files` by path to the bearer `cred`, counting requests. */
async function controlPlane(files: Record<string, Buffer>, cred: string) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.headers.authorization !== `Bearer ${cred}`)
      return void res.writeHead(401).end(JSON.stringify({ error: { message: 'Unknown credential.' } }));
    const file = files[req.url!];
    if (!file)
      return void res.writeHead(404).end(JSON.stringify({ error: { message: 'No build needs it.' } }));
    res.writeHead(200, { 'content-length': String(file.length) }).end(file);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('PackageFetcher (a dial-out builder fetching from the control plane)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-fetch-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fetches a package with its credential into the store, then keeps it', async () => {
    const hash = sha256(DEB);
    const cp = await controlPlane({ [`/api/agent/packages/${hash}`]: DEB }, 'bfa_cred');
    try {
      const store = new AgentPackageStore(new DiskPackageStore(dir));
      const origin = { client: new ControlPlaneClient(cp.url), token: async () => 'bfa_cred' };
      const fetcher = new PackageFetcher(store, () => origin);
      expect(await fetcher.fetch(hash)).toEqual({ outcome: 'fetched', size: DEB.length });
      expect(await readFile(store.pathOf(hash))).toEqual(DEB);
      expect(await fetcher.fetch(hash)).toEqual({ outcome: 'present', size: DEB.length });
      expect(cp.seen).toEqual([`GET /api/agent/packages/${hash}`]);
    } finally {
      await cp.close();
    }
  });

  it("keeps nothing whose sha256 is not the one asked for, and says the control plane's refusals", async () => {
    const other = Buffer.concat([DEB, Buffer.from('x')]);
    const asked = sha256(DEB);
    const cp = await controlPlane({ [`/api/agent/packages/${asked}`]: other }, 'bfa_cred');
    try {
      const store = new AgentPackageStore(new DiskPackageStore(dir));
      const fetcher = new PackageFetcher(store, () => ({
        client: new ControlPlaneClient(cp.url),
        token: async () => 'bfa_cred',
      }));
      await expect(fetcher.fetch(asked)).rejects.toMatchObject({
        code: 'INVALID_PACKAGE',
        message: expect.stringContaining(`sha256 is ${sha256(other)}`),
      });
      await expect(fetcher.fetch('0'.repeat(64))).rejects.toMatchObject({
        code: 'CONTROL_PLANE_FAILED',
        message: 'The control plane answered: No build needs it.',
      });
      const stale = new PackageFetcher(store, () => ({
        client: new ControlPlaneClient(cp.url),
        token: async () => 'bfa_old',
      }));
      await expect(stale.fetch(asked)).rejects.toMatchObject({ code: 'CONTROL_PLANE_REFUSED' });
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await cp.close();
    }
  });

  it('refuses on an agent reached directly: the control plane sends it packages', async () => {
    const fetcher = new PackageFetcher(new AgentPackageStore(new DiskPackageStore(dir)), () => undefined);
    await expect(fetcher.fetch(sha256(DEB))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/reached directly: the control plane sends it packages/),
    });
  });
});

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInstall } from '../adapters/agent-install.ts';
import { AgentUpgrade } from './agent-upgrade.ts';

const BODY = Buffer.from('a tarball, as far as this test goes');
const SHA = createHash('sha256').update(BODY).digest('hex');
const FILE = 'binfleet-agent-0.2.0-linux.tar.gz';

/** An install that records what it was asked, over a real folder for the download. */
class RecordingInstall implements AgentInstall {
  readonly launcher = '/nonexistent/bin/binfleet-agent';
  readonly calls: string[] = [];
  unpacked: Buffer | undefined;
  constructor(
    private readonly dir: string,
    private readonly refusal?: string,
  ) {}
  problem = async () => this.refusal;
  workDir = async () => mkdtempSync(join(this.dir, 'work-'));
  unpack = async (file: string, version: string) => {
    this.calls.push(`unpack ${version}`);
    this.unpacked = readFileSync(file);
    return `/prefix/versions/${version}`;
  };
  activate = async (version: string) => {
    this.calls.push(`activate ${version}`);
    return { previous: '0.1.0' };
  };
}

describe('AgentUpgrade', () => {
  let server: Server;
  let url: string;
  let dir: string;
  const served = { body: BODY };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'binfleet-upgrade-'));
    server = createServer((req, res) => {
      if (req.url !== `/agent/files/${FILE}`) return void res.writeHead(404).end('no such file');
      res.writeHead(200, { 'content-length': String(served.body.length) }).end(served.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const upgrade = (install: RecordingInstall, restarts: string[], joined = true) =>
    new AgentUpgrade({
      install,
      serverUrl: async () => (joined ? url : undefined),
      version: '0.1.0',
      restart: () => restarts.push('restart'),
      log: () => {},
    });
  const input = { file: FILE, sha256: SHA, size: BODY.length, version: '0.2.0' };

  it('downloads from the control plane it joined, checks the sha256, installs, switches and then asks to restart', async () => {
    const install = new RecordingInstall(dir);
    const restarts: string[] = [];
    const answer = await upgrade(install, restarts).upgrade(input);
    expect(answer).toEqual({
      status: 'restarting',
      version: '0.2.0',
      previousVersion: '0.1.0',
      installedAt: '/prefix/versions/0.2.0',
    });
    expect(install.unpacked).toEqual(BODY);
    expect(install.calls).toEqual(['unpack 0.2.0', 'activate 0.2.0']);
    // Not before the answer is handed back.
    expect(restarts).toEqual([]);
    await new Promise(setImmediate);
    expect(restarts).toEqual(['restart']);
  });

  it('does nothing for the version it runs', async () => {
    const install = new RecordingInstall(dir);
    const restarts: string[] = [];
    expect(await upgrade(install, restarts).upgrade({ ...input, version: '0.1.0' })).toEqual({
      status: 'current',
      version: '0.1.0',
      previousVersion: '0.1.0',
    });
    expect(install.calls).toEqual([]);
  });

  it('refuses a download whose sha256 differs, and keeps running', async () => {
    const install = new RecordingInstall(dir);
    const restarts: string[] = [];
    const wrong = 'f'.repeat(64);
    await expect(upgrade(install, restarts).upgrade({ ...input, sha256: wrong })).rejects.toMatchObject({
      code: 'UPGRADE_FAILED',
      message: expect.stringContaining(
        `does not match its sha256 (expected ${wrong}, got ${SHA}): the download was damaged or altered; nothing was installed and this agent keeps running version 0.1.0`,
      ),
    });
    await new Promise(setImmediate);
    expect(install.calls).toEqual([]);
    expect(restarts).toEqual([]);
  });

  it('refuses more bytes than announced, a missing file, an agent not joined and an install that cannot upgrade in place', async () => {
    const restarts: string[] = [];
    await expect(
      upgrade(new RecordingInstall(dir), restarts).upgrade({ ...input, size: BODY.length - 1 }),
    ).rejects.toThrow(/it is \d+ bytes, the control plane said \d+/);
    await expect(
      upgrade(new RecordingInstall(dir), restarts).upgrade({ ...input, file: 'other.tar.gz' }),
    ).rejects.toThrow(
      /Could not download .*other\.tar\.gz \(HTTP 404\); this agent keeps running version 0\.1\.0/,
    );
    await expect(upgrade(new RecordingInstall(dir), restarts, false).upgrade(input)).rejects.toThrow(
      /joined no control plane/,
    );
    await expect(
      upgrade(
        new RecordingInstall(dir, 'this agent was installed by the .deb: upgrade it with apt-get'),
        restarts,
      ).upgrade(input),
    ).rejects.toThrow(/Cannot upgrade in place: this agent was installed by the \.deb/);
    expect(restarts).toEqual([]);
  });
});

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ensureAgentRelease,
  startTestNetwork,
  type NetworkHost,
  type TestNetwork,
} from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { finishedJob, until } from './testing/waiting.ts';

/**
 * A host on another network installs the agent with the one line the dashboard gives: each host is a
 * network namespace of the test's own (its own address, hostname and binfmt_misc), the control
 * plane is the web server on the test network's gateway, the agent is the release `pnpm agent:package`
 * makes, served by the control plane and installed as the tarball into a per-host --prefix (the
 * namespaces share this machine's files). `sudo` is dropped from the line: the test is root already.
 */
const pexec = promisify(execFile);

interface CodeAnswer {
  code: string;
  line: string;
  warnings: string[];
  release: { version: string } | { problem: string };
}

describe('install in one line', () => {
  let network: TestNetwork | undefined;
  let fleet: Fleet | undefined;
  let dir: string;
  afterAll(async () => {
    if (process.env.BINFLEET_TEST_DEBUG) console.log(fleet?.server.output().slice(-5000));
    await fleet?.stop();
    await network?.stop();
  });

  beforeAll(async () => {
    ensureAgentRelease();
    network = await startTestNetwork();
    fleet = await startFleet({
      agents: 0,
      server: 'next',
      hostname: network.gateway,
      heartbeatIntervalMs: 1000,
    });
    dir = mkdtempSync(join(fleet.dir, 'hosts-'));
    const saved = await fleet.api.ok(
      fleet.api.mutation<{ url: string; source: string }>('settings.setPublicUrl', { url: fleet.url }),
    );
    expect(saved).toMatchObject({ url: fleet.url, source: 'settings' });
  }, 600_000);

  const newCode = (label: string) =>
    fleet!.api.ok(
      fleet!.api.mutation<CodeAnswer>('install.createCode', {
        label,
        expiresInMinutes: 15,
        browserOrigin: fleet!.url,
        // These hosts are called at their address; dial-out installs: dial-out.integration.test.ts, e2e.
        transport: 'direct',
      }),
    );

  /** Runs the line on the host as root would (sudo dropped), with options appended. */
  const runLine = (host: NetworkHost, line: string, more: string) =>
    host.sandbox.exec('sh', ['-c', `${line.replace('| sudo sh', '| sh')} ${more}`], { timeoutMs: 120_000 });

  it('installs, joins at the host address, runs a reset job, and keeps the credential off every command line', async () => {
    const host = await network!.addHost('edge-1');
    const answer = await newCode('edge-1');
    expect(answer.release).toHaveProperty('version');
    expect(answer.warnings).toEqual([]);
    expect(answer.line).toBe(
      `curl -fsSL ${fleet!.url}/agent/install.sh | sudo sh -s -- --code ${answer.code}`,
    );

    // Every command line in the host's network namespace while the install runs (the pid space is
    // the machine's: other processes there are not this host's).
    const netns = `net:[${statSync(`/run/netns/${host.netns}`).ino}]`;
    const inHost = (pid: string) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/net`) === netns;
      } catch {
        return false;
      }
    };
    const seen = new Set<string>();
    let installing = true;
    const sampler = (async () => {
      for (let i = 0; installing && i < 2000; i++) {
        const { stdout } = await pexec('ps', ['-eo', 'pid=,args=']);
        for (const l of stdout.split('\n')) {
          const [, pid, args] = /^\s*(\d+) (.*)$/.exec(l) ?? [];
          if (pid && args?.includes('bfj_') && inHost(pid)) seen.add(args);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const prefix = join(dir, 'edge-1');
    const result = await runLine(host, answer.line, `--prefix ${prefix}`).finally(() => (installing = false));
    await sampler;
    expect(result.stderr).toContain('joined');
    expect(result.code).toBe(0);
    // Only the code itself appeared, and it is spent: the credential never did.
    const tokens = new Set([...seen].flatMap((l) => l.match(/bfj_[A-Za-z0-9_-]+/g) ?? []));
    expect(
      [...tokens].filter((t) => t !== answer.code),
      [...seen].join('\n'),
    ).toEqual([]);
    expect(statSync(join(prefix, 'etc/agent.env')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(prefix, 'etc/join-token'))).toBe(false);
    expect(readFileSync(join(prefix, 'etc/agent.env'), 'utf8')).not.toContain('bfj_');

    const hosts = await fleet!.api.ok(
      fleet!.api.query<{ items: { id: string; hostname: string }[] }>('fleet.hosts', {}),
    );
    const joined = hosts.items.find((h) => h.hostname === 'edge-1');
    expect(joined, JSON.stringify(hosts.items)).toBeDefined();
    const detail = () =>
      fleet!.api.ok(
        fleet!.api.query<{ online: boolean; agentUrl: string }>('fleet.host', { id: joined!.id }),
      );
    // Reached at its own address on the test network, not at a loopback one.
    expect((await detail()).agentUrl).toBe(`http://${host.address}:7475`);
    await until('edge-1 online', async () => (await detail()).online);

    const { id } = await fleet!.api.ok(
      fleet!.api.mutation<{ id: string }>('jobs.create', {
        params: { kind: 'reset-register', persistent: true },
        selection: { hostIds: [joined!.id] },
      }),
    );
    const job = await finishedJob<{ status: string }>(fleet!.api, id);
    expect(job.status).toBe('succeeded');
    const entries = await host.sandbox.exec('ls', [host.sandbox.mountPoint]);
    expect(entries.stdout).toContain('qemu-aarch64');

    // Again, the same line: installed, joined and running, so nothing changes and nothing is spent.
    const again = await runLine(host, (await newCode('edge-1 again')).line, `--prefix ${prefix}`);
    expect(again.stderr).toContain('nothing to do');
    expect(again.code).toBe(0);

    // The uninstaller the script left beside the agent stops it and removes what was installed.
    const pid = Number(readFileSync(join(prefix, 'var/agent.pid'), 'utf8'));
    const removed = await host.sandbox.exec(join(prefix, 'bin/binfleet-agent-uninstall'));
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toContain('remove the host in the dashboard too');
    expect(existsSync(join(prefix, 'bin'))).toBe(false);
    expect(existsSync(join(prefix, 'etc'))).toBe(false);
    await until('the agent to stop', async () => !existsSync(`/proc/${pid}`));

    // The used code on another host: refused before anything is installed.
    const other = await network!.addHost('edge-2');
    const reused = await runLine(other, answer.line, `--prefix ${join(dir, 'edge-2')}`);
    expect(reused.code).toBe(1);
    expect(reused.stderr).toContain('the install code has been used already');
    expect(existsSync(join(dir, 'edge-2'))).toBe(false);
  }, 300_000);

  it('refuses an expired code, checks a valid one with --dry-run without spending it, and says why a bad option fails', async () => {
    const host = await network!.addHost('edge-3');
    const prefix = join(dir, 'edge-3');
    const expired = await newCode('edge-3 expired');
    await fleet!.db.joinToken.updateMany({
      where: { label: 'edge-3 expired' },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const refused = await runLine(host, expired.line, `--prefix ${prefix}`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the install code has expired');
    expect(existsSync(prefix)).toBe(false);

    const fresh = await newCode('edge-3');
    const dry = await runLine(host, fresh.line, `--prefix ${prefix} --dry-run`);
    expect(dry.stderr).toContain('dry run: the code is valid');
    expect(dry.code).toBe(0);
    expect(existsSync(prefix)).toBe(false);
    const row = await fleet!.db.joinToken.findFirst({ where: { label: 'edge-3' } });
    expect(row?.uses).toBe(0);

    const bad = await runLine(host, fresh.line, `--prefix 'rel/ative'`);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--prefix needs an absolute path');
  }, 120_000);
});

describe('install over https with the control plane’s own certificate', () => {
  let network: TestNetwork | undefined;
  let fleet: Fleet | undefined;
  const rejectUnauthorized = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  afterAll(async () => {
    await fleet?.stop();
    await network?.stop();
    if (rejectUnauthorized === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = rejectUnauthorized;
  });

  it('pins the certificate from the line: the install and the agent’s heartbeats go over https; a wrong pin stops before anything is sent', async () => {
    ensureAgentRelease();
    network = await startTestNetwork();
    const certDir = mkdtempSync(join(tmpdir(), 'binfleet-tls-'));
    const [cert, key] = [join(certDir, 'cert.pem'), join(certDir, 'key.pem')];
    // Self-signed, for the gateway's address: what an admin without a CA would make.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=binfleet-test',
        '-addext',
        `subjectAltName=IP:${network.gateway}`,
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    // This test's own API client talks to that certificate too; the agents trust it by their pin.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    fleet = await startFleet({
      agents: 0,
      server: 'next',
      hostname: network.gateway,
      heartbeatIntervalMs: 1000,
      env: { BINFLEET_TLS_CERT: cert, BINFLEET_TLS_KEY: key, BINFLEET_INSECURE_COOKIES: '0' },
    });
    expect(fleet.url).toMatch(/^https:/);
    const answer = await fleet.api.ok(
      fleet.api.mutation<CodeAnswer>('install.createCode', {
        label: 'tls-1',
        expiresInMinutes: 15,
        browserOrigin: fleet.url,
        transport: 'direct',
      }),
    );
    const pin = /--pinnedpubkey sha256\/\/(\S+)/.exec(answer.line)?.[1];
    expect(pin).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(answer.code).toMatch(/^bfj_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);

    const host = await network.addHost('tls-1');
    const dir = mkdtempSync(join(fleet.dir, 'hosts-'));
    const wrongPin = answer.line.replace(pin!, `${'A'.repeat(43)}=`);
    const refused = await host.sandbox.exec('sh', [
      '-c',
      `${wrongPin.replace('| sudo sh', '| sh')} --prefix ${join(dir, 'x')}`,
    ]);
    expect(refused.stderr).toMatch(/pinned|public key/i);
    expect(existsSync(join(dir, 'x'))).toBe(false);

    const prefix = join(dir, 'tls-1');
    const result = await host.sandbox.exec(
      'sh',
      ['-c', `${answer.line.replace('| sudo sh', '| sh')} --prefix ${prefix}`],
      {
        timeoutMs: 120_000,
      },
    );
    expect(result.stderr).toContain('joined');
    expect(result.code).toBe(0);
    expect(readFileSync(join(prefix, 'etc/agent.env'), 'utf8')).toContain(
      `NODE_EXTRA_CA_CERTS="${prefix}/etc/server-ca.pem"`,
    );
    const hosts = await fleet.api.ok(
      fleet.api.query<{ items: { id: string; hostname: string }[] }>('fleet.hosts', {}),
    );
    const joined = hosts.items.find((h) => h.hostname === 'tls-1');
    const detail = () =>
      fleet!.api.ok(
        fleet!.api.query<{ lastSeenAt: string; agentUrl: string }>('fleet.host', { id: joined!.id }),
      );
    expect((await detail()).agentUrl).toBe(`http://${host.address}:7475`);
    // Heartbeats keep arriving over https: the agent trusts the pinned certificate.
    const seen = (await detail()).lastSeenAt;
    await until('a heartbeat after the join', async () => (await detail()).lastSeenAt !== seen);
  }, 600_000);
});

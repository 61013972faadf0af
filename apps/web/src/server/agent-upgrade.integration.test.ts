import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentReleaseManifestSchema, type AgentReleaseManifest } from '@binfleet/agent-contract';
import {
  CHROMIUM_ARGS,
  chromiumExecutable,
  ensureAgentRelease,
  startTestNetwork,
  type TestNetwork,
} from '@binfleet/test-sandbox';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { finishedJob, until } from './testing/waiting.ts';

/**
 * The upgrade agent job on real agents installed by the one-line install (tarball into a per-host
 * --prefix, hosts in network namespaces of the test's own, as agent-install.integration.test.ts):
 * the control plane first serves a release one version behind (the real one with another version
 * written in), the hosts install it, then it serves the real release and the job upgrades them,
 * one called at its address and one that dials out, both through the one gateway.
 */

const OLD_VERSION = '0.0.9';

interface JobDetail {
  status: string;
  targets: { hostname: string; status: string; error: string | null }[];
}

interface HostDetail {
  online: boolean;
  lastSeenAt: string | null;
  agentVersion: string | null;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The real release's tarball as version `version`: the same agent, its version written into the
 * bundle (scripts/build.ts defines it as a string the bundle returns) and its package.json.
 */
function derivedRelease(real: AgentReleaseManifest, realDir: string, version: string, outDir: string) {
  const tarball = real.artifacts.find((a) => a.kind === 'tarball')!;
  const work = mkdtempSync(join(outDir, '.derive-'));
  execFileSync('tar', ['-xzf', join(realDir, tarball.file), '-C', work]);
  const top = join(work, `binfleet-agent-${version}`);
  renameSync(join(work, `binfleet-agent-${real.version}`), top);
  const binDir = join(top, 'lib/dist/bin');
  let replaced = 0;
  // The bundle's chunks and the startup snapshots' scripts (the launcher's `--version` runs the CLI's
  // or the bundle, `serve` the agent's or the bundle). The snapshots' scripts have no whitespace to
  // spare: `return"0.1.0";`.
  const returned = new RegExp(`return ?"${real.version.replaceAll('.', '\\.')}";`, 'g');
  for (const name of readdirSync(binDir).filter((n) => n.endsWith('.mjs') || n.endsWith('.cjs'))) {
    const text = readFileSync(join(binDir, name), 'utf8');
    const next = text.replace(returned, (found) => (replaced++, found.replace(real.version, version)));
    if (next !== text) writeFileSync(join(binDir, name), next);
  }
  expect(replaced, 'the bundle and the two snapshot scripts return their version once each').toBe(3);
  const pkg = join(top, 'lib/package.json');
  writeFileSync(
    pkg,
    readFileSync(pkg, 'utf8').replace(`"version": "${real.version}"`, `"version": "${version}"`),
  );
  const file = `binfleet-agent-${version}-linux.tar.gz`;
  execFileSync('tar', ['-czf', join(outDir, file), '-C', work, `binfleet-agent-${version}`]);
  return {
    ...real,
    version,
    artifacts: [
      {
        file,
        kind: 'tarball' as const,
        arch: 'all' as const,
        sha256: sha256(join(outDir, file)),
        size: statSync(join(outDir, file)).size,
      },
    ],
  };
}

describe('the upgrade agent job', () => {
  let network: TestNetwork | undefined;
  let fleet: Fleet | undefined;
  let served: string;
  let dir: string;
  let real: AgentReleaseManifest;
  let realDir: string;
  let browser: Browser | undefined;
  const pids: string[] = [];
  afterAll(async () => {
    await browser?.close();
    if (served) rmSync(served, { recursive: true, force: true });
    if (process.env.BINFLEET_TEST_DEBUG) console.log(fleet?.server.output().slice(-5000));
    for (const file of pids) {
      const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : NaN;
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone already
        }
      }
    }
    await fleet?.stop();
    await network?.stop();
  });

  /** What the control plane serves from now on: the manifest last, as `pnpm agent:package` writes it. */
  const serve = (manifest: AgentReleaseManifest, from: string) => {
    for (const a of manifest.artifacts) copyFileSync(join(from, a.file), join(served, a.file));
    writeFileSync(join(served, 'manifest.json.new'), JSON.stringify(manifest, null, 2));
    renameSync(join(served, 'manifest.json.new'), join(served, 'manifest.json'));
  };

  beforeAll(async () => {
    realDir = ensureAgentRelease();
    real = agentReleaseManifestSchema.parse(JSON.parse(readFileSync(join(realDir, 'manifest.json'), 'utf8')));
    network = await startTestNetwork();
    fleet = await startFleet({
      agents: 0,
      server: 'next',
      hostname: network.gateway,
      heartbeatIntervalMs: 1000,
      env: {
        BINFLEET_AGENT_DIST: (served = mkdtempSync(join(tmpdir(), 'binfleet-served-'))),
        BINFLEET_AGENT_UPGRADE_WAIT_MS: '60000',
      },
    });
    dir = mkdtempSync(join(fleet.dir, 'hosts-'));
    const old = mkdtempSync(join(fleet.dir, 'old-'));
    serve(derivedRelease(real, realDir, OLD_VERSION, old), old);
    await fleet.api.ok(fleet.api.mutation('settings.setPublicUrl', { url: fleet.url }));
  }, 600_000);

  const install = async (name: string, transport: 'direct' | 'dial-out') => {
    const host = await network!.addHost(name);
    const { line } = await fleet!.api.ok(
      fleet!.api.mutation<{ line: string }>('install.createCode', {
        label: name,
        expiresInMinutes: 15,
        browserOrigin: fleet!.url,
        transport,
      }),
    );
    const prefix = join(dir, name);
    const result = await host.sandbox.exec(
      'sh',
      ['-c', `${line.replace('| sudo sh', '| sh')} --prefix ${prefix}`],
      {
        timeoutMs: 120_000,
      },
    );
    expect(result.stderr).toContain('joined');
    expect(result.code).toBe(0);
    pids.push(join(prefix, 'var/agent.pid'));
    const hosts = await fleet!.api.ok(
      fleet!.api.query<{ items: { id: string; hostname: string }[] }>('fleet.hosts', {}),
    );
    const id = hosts.items.find((h) => h.hostname === name)!.id;
    return {
      host,
      prefix,
      id,
      detail: () => fleet!.api.ok(fleet!.api.query<HostDetail>('fleet.host', { id })),
    };
  };
  /** The admin's dashboard in Chromium (the API client's session). */
  const dashboard = async (): Promise<Page> => {
    browser ??= await chromium.launch({ executablePath: chromiumExecutable(), args: [...CHROMIUM_ARGS] });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    await context.addCookies(
      fleet!.api.sessionHeaders.cookie.split('; ').map((c) => {
        const [name, ...value] = c.split('=');
        return { name: name!, value: value.join('='), url: fleet!.url };
      }),
    );
    return context.newPage();
  };
  /** Opens Upgrade agent… from the job actions' More menu, checks what the confirm says, confirms: the job's id. */
  const upgradeThroughDashboard = async (page: Page, title: string): Promise<string> => {
    await page.getByRole('button', { name: 'More', exact: true }).click();
    await page.getByRole('menuitem', { name: 'Upgrade agent…' }).click();
    const dialog = page.getByRole('dialog', { name: title });
    await dialog
      .getByText(/checks its sha256, installs it beside the running version and restarts on it/)
      .waitFor();
    await dialog.getByText(/the agent keeps running the version it has and the row says why/).waitFor();
    // To look at: BINFLEET_SCREENSHOTS names the folder, else the fleet's own.
    const out = process.env.BINFLEET_SCREENSHOTS ?? fleet!.dir;
    await page.screenshot({ path: join(out, `${title.replace(/\W+/g, '-').replace(/-$/, '')}.png`) });
    await dialog.getByRole('button', { name: 'Upgrade agent' }).click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    return new URL(page.url()).pathname.split('/').pop()!;
  };
  const pidOf = (prefix: string) => Number(readFileSync(join(prefix, 'var/agent.pid'), 'utf8'));
  const alive = (pid: number) => existsSync(`/proc/${pid}`);

  it('upgrades agents one version behind (direct and dial-out) to the served version; a bad checksum leaves the agent running and says why', async () => {
    const hosts = [await install('up-direct', 'direct'), await install('up-dial', 'dial-out')];
    for (const h of hosts) {
      expect(readlinkSync(join(h.prefix, 'current'))).toBe(`versions/${OLD_VERSION}`);
      await until('the old agent reporting its version', async () => {
        const d = await h.detail();
        return d.online && d.agentVersion === OLD_VERSION;
      });
    }
    const oldPids = hosts.map((h) => pidOf(h.prefix));

    // Only admins, through jobs.upgradeAgent: jobs.create refuses the kind.
    const refused = await fleet!.api.mutation('jobs.create', {
      params: { kind: 'upgrade-agent' },
      selection: { hostIds: hosts.map((h) => h.id) },
    });
    expect(JSON.stringify(refused.error)).toContain('Only admins upgrade agents');

    serve(real, realDir);
    // An admin selects both hosts on the fleet page and upgrades them from the bar's More menu.
    const page = await dashboard();
    await page.goto(`${fleet!.url}/fleet`);
    for (const name of ['up-direct', 'up-dial'])
      await page.getByRole('checkbox', { name: `Select ${name}` }).check();
    const id = await upgradeThroughDashboard(page, 'Upgrade the agent on 2 hosts?');
    const job = await finishedJob<JobDetail>(fleet!.api, id, 180_000);
    expect(job.status, JSON.stringify(job.targets)).toBe('succeeded');
    for (const [i, h] of hosts.entries()) {
      expect((await h.detail()).agentVersion).toBe(real.version);
      expect(readlinkSync(join(h.prefix, 'current'))).toBe(`versions/${real.version}`);
      // The version it ran before is kept to go back to.
      expect(readdirSync(join(h.prefix, 'versions')).sort()).toEqual([OLD_VERSION, real.version].sort());
      // A new process, named by the pid file the install line's uninstaller reads; the old one ended.
      const pid = pidOf(h.prefix);
      expect(pid).not.toBe(oldPids[i]);
      expect(alive(pid)).toBe(true);
      await until('the old agent process to end', async () => !alive(oldPids[i]!));
    }

    // The upgraded agents take jobs with the credential they had.
    const reset = await fleet!.api.ok(
      fleet!.api.mutation<{ id: string }>('jobs.create', {
        params: { kind: 'reset-register', persistent: true },
        selection: { hostIds: hosts.map((h) => h.id) },
      }),
    );
    expect((await finishedJob<JobDetail>(fleet!.api, reset.id)).status).toBe('succeeded');

    // A release whose sha256 does not match its file: the agent downloads it, refuses it, runs on.
    const badVersion = '9.9.9';
    const badFile = `binfleet-agent-${badVersion}-linux.tar.gz`;
    const realTarball = real.artifacts.find((a) => a.kind === 'tarball')!;
    const bad = mkdtempSync(join(fleet!.dir, 'bad-'));
    copyFileSync(join(realDir, realTarball.file), join(bad, badFile));
    const wrongSha = realTarball.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    serve(
      { ...real, version: badVersion, artifacts: [{ ...realTarball, file: badFile, sha256: wrongSha }] },
      bad,
    );
    const [direct] = hosts;
    const pid = pidOf(direct!.prefix);
    // From the host's page this time.
    await page.goto(`${fleet!.url}/hosts/${direct!.id}`);
    const failedId = await upgradeThroughDashboard(page, 'Upgrade the agent on up-direct?');
    const failedJob = await finishedJob<JobDetail>(fleet!.api, failedId);
    expect(failedJob.status).toBe('failed');
    const error = failedJob.targets[0]!.error ?? '';
    expect(error).toContain(`${badFile} from ${fleet!.url}`);
    expect(error).toContain(`does not match its sha256 (expected ${wrongSha}`);
    expect(error).toContain(`this agent keeps running version ${real.version}`);
    expect(alive(pid)).toBe(true);
    expect(readlinkSync(join(direct!.prefix, 'current'))).toBe(`versions/${real.version}`);
    expect(existsSync(join(direct!.prefix, 'versions', badVersion))).toBe(false);
    const seen = (await direct!.detail()).lastSeenAt;
    await until('a heartbeat after the refused upgrade', async () => {
      const d = await direct!.detail();
      return d.lastSeenAt !== seen && d.agentVersion === real.version;
    });
  }, 600_000);
});

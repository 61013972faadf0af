import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseForTests } from './release-for-tests.ts';

const PACKAGE = 'binfleet-agent';
let release: ReturnType<typeof releaseForTests>;

function run(command: string, ...args: string[]) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

const installed = () => run('dpkg-query', '-W', '-f=${Status}', PACKAGE).out.includes('install ok installed');
const purge = () => run('dpkg', '--purge', PACKAGE);

/** What the package owns (its contents, as dpkg-deb lists them) and makes (state, config, unit links). */
function pathsOfThePackage(): string[] {
  // `drwxr-xr-x root/root 0 2026-12-03 10:43 ./usr/lib/binfleet-agent/`, one line per entry.
  const listed = run('dpkg-deb', '--contents', release.path('deb'));
  expect(listed.status, listed.out).toBe(0);
  return [
    ...listed.out
      .split('\n')
      .filter(Boolean)
      .map((line) =>
        line
          .split(/\s+/)[5]!
          .replace(/^\.\/?/, '/')
          .replace(/(.)\/$/, '$1'),
      ),
    '/etc/binfleet-agent',
    '/var/lib/binfleet-agent',
    '/var/cache/binfleet-agent',
    '/etc/systemd/system/multi-user.target.wants/binfleet-agent.service',
    '/var/lib/systemd/deb-systemd-helper-enabled/binfleet-agent.service.dsh-also',
    '/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/binfleet-agent.service',
  ];
}

/** Each path and whether it exists (a symlink counts, dangling or not). */
function listing(paths: readonly string[]): string[] {
  return paths.map((p) => {
    try {
      lstatSync(p);
      return `${p} exists`;
    } catch {
      return `${p} absent`;
    }
  });
}

beforeAll(() => {
  release = releaseForTests();
  // Left over by an interrupted run: start from a machine without the package.
  if (installed()) purge();
  // The launcher's startup snapshots, made by a tarball's launcher run as root (the upgrade test's agents).
  rmSync('/var/cache/binfleet-agent', { recursive: true, force: true });
});

afterAll(() => {
  if (installed()) purge();
});

describe('the .deb', () => {
  it('passes lintian without errors', () => {
    const lintian = run('lintian', '--tag-display-limit', '0', release.path('deb'));
    const errors = lintian.out.split('\n').filter((line) => line.startsWith('E: '));
    expect(errors).toEqual([]);
  });

  it('installs with dpkg, runs, keeps its configuration on remove and leaves nothing after purge', () => {
    const paths = pathsOfThePackage();
    const before = listing(paths);
    try {
      const install = run('dpkg', '-i', release.path('deb'));
      expect(install.status, install.out).toBe(0);
      expect(installed()).toBe(true);

      expect(run('binfleet-agent', '--version')).toEqual({ status: 0, out: `${release.manifest.version}\n` });
      // postinst made the startup snapshots for this node: the CLI's (the launcher's first light
      // command) and the agent's (its first `serve`), both readable by every user.
      const blobs = readdirSync('/var/cache/binfleet-agent').filter((f) => f.endsWith('.blob'));
      expect(blobs.sort()).toEqual([
        expect.stringMatching(/^serve-snapshot-/),
        expect.stringMatching(/^snapshot-/),
      ]);
      for (const blob of blobs)
        expect(statSync(`/var/cache/binfleet-agent/${blob}`).mode & 0o777).toBe(0o644);
      expect(statSync('/var/lib/binfleet-agent').mode & 0o777).toBe(0o700);
      expect(statSync('/etc/binfleet-agent').mode & 0o777).toBe(0o700);
      // Enabled (systemd does not run here: nothing is started).
      expect(existsSync('/etc/systemd/system/multi-user.target.wants/binfleet-agent.service')).toBe(true);

      const unit = '/lib/systemd/system/binfleet-agent.service';
      expect(readFileSync(unit, 'utf8')).toMatch(
        /^ExecStart=\/usr\/bin\/binfleet-agent serve --state-dir \$\{STATE_DIRECTORY\} \$BINFLEET_AGENT_ARGS$/m,
      );
      const verify = run('systemd-analyze', 'verify', unit);
      expect(verify.status, verify.out).toBe(0);
      expect(verify.out).not.toMatch(/binfleet-agent\.service/);

      // What an installer writes is configuration: remove keeps it, purge deletes it.
      writeFileSync('/etc/binfleet-agent/agent.env', 'BINFLEET_AGENT_ARGS="--listen 127.0.0.1:7475"\n', {
        mode: 0o600,
      });
      writeFileSync('/var/lib/binfleet-agent/desired-state.json', '{}\n', { mode: 0o600 });
      const remove = run('dpkg', '--remove', PACKAGE);
      expect(remove.status, remove.out).toBe(0);
      expect(existsSync('/usr/bin/binfleet-agent')).toBe(false);
      expect(existsSync('/var/cache/binfleet-agent')).toBe(false);
      expect(readFileSync('/etc/binfleet-agent/agent.env', 'utf8')).toMatch(/BINFLEET_AGENT_ARGS/);
      expect(existsSync('/var/lib/binfleet-agent/desired-state.json')).toBe(true);

      const purged = purge();
      expect(purged.status, purged.out).toBe(0);
      expect(listing(paths)).toEqual(before);
      expect(before).toContain('/etc/binfleet-agent absent');
      expect(before).toContain('/usr/lib/binfleet-agent absent');
    } finally {
      if (installed() || run('dpkg-query', '-W', PACKAGE).status === 0) purge();
    }
  });
});

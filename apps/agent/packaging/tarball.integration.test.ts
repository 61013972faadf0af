import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianNodePackages, extractPackages } from './debian-packages.ts';
import { releaseForTests } from './release-for-tests.ts';

const dir = mkdtempSync(join(tmpdir(), 'binfleet-tarball-'));
let release: ReturnType<typeof releaseForTests>;

/** Runs a command with only the given environment (and no PATH unless given). */
function run(command: string, args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, { env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The tarball extracted as installers do: tar -xzf F -C PREFIX --strip-components=1. */
function install(prefix: string): string {
  const result = spawnSync('tar', ['-xzf', release.path('tarball'), '-C', prefix, '--strip-components=1']);
  expect(result.status).toBe(0);
  return join(prefix, 'bin/binfleet-agent');
}

const PATH = process.env['PATH']!;
// The launcher's startup snapshots in this test's folder, not in the machine's /var/cache.
const SNAPSHOTS = join(dir, 'snapshots');

beforeAll(() => {
  release = releaseForTests();
  mkdirSync(SNAPSHOTS);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the tarball', () => {
  it('runs from whatever prefix it is extracted to, also through a symlink', () => {
    for (const name of ['one', 'two/deeper']) {
      const prefix = join(dir, name);
      mkdirSync(prefix, { recursive: true });
      const bin = install(prefix);
      const version = run(bin, ['--version'], { PATH, BINFLEET_AGENT_SNAPSHOT_DIR: SNAPSHOTS });
      expect(version).toMatchObject({ status: 0, stdout: `${release.manifest.version}\n` });
      const help = run(bin, ['--help'], { PATH, BINFLEET_AGENT_SNAPSHOT_DIR: SNAPSHOTS });
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: binfleet-agent COMMAND/);
    }
    const link = join(dir, 'binfleet-agent');
    symlinkSync(join(dir, 'two/deeper/bin/binfleet-agent'), link);
    expect(run(link, ['--version'], { PATH, BINFLEET_AGENT_SNAPSHOT_DIR: SNAPSHOTS }).stdout).toBe(
      `${release.manifest.version}\n`,
    );
  });

  it('holds a systemd unit for /opt/binfleet-agent that reads /etc/binfleet-agent/agent.env', () => {
    const unit = readFileSync(join(dir, 'one/share/binfleet-agent/binfleet-agent.service'), 'utf8');
    expect(unit).toMatch(
      /^ExecStart=\/opt\/binfleet-agent\/bin\/binfleet-agent serve --state-dir \$\{STATE_DIRECTORY\} \$BINFLEET_AGENT_ARGS$/m,
    );
    expect(unit).toMatch(/^EnvironmentFile=-\/etc\/binfleet-agent\/agent.env$/m);
    // The agent may write its prefix: the upgrade agent job installs versions there.
    expect(unit).toMatch(/^ReadWritePaths=.* -\/opt\/binfleet-agent$/m);
    expect(unit).not.toMatch(/@[A-Z_]+@/);
  });

  it('says what to do when Node.js is missing or too old', () => {
    const bin = join(dir, 'one/bin/binfleet-agent');
    const none = run(bin, ['--version'], { PATH: '/nonexistent' });
    expect(none.status).toBe(127);
    expect(none.stderr).toMatch(/Node\.js 18 or newer is needed and there is none on PATH.*BINFLEET_NODE/);

    const broken = run(bin, ['--version'], {
      PATH,
      BINFLEET_AGENT_SNAPSHOT_DIR: SNAPSHOTS,
      BINFLEET_NODE: '/bin/false',
    });
    expect(broken.status).toBe(127);
    expect(broken.stderr).toMatch(/\/bin\/false does not run as Node\.js/);

    // A Node.js 16 as far as the launcher can tell: it asks `node --version` and nothing else.
    const old = join(dir, 'node16');
    writeFileSync(old, '#!/bin/sh\necho v16.20.2\n');
    chmodSync(old, 0o755);
    const tooOld = run(bin, ['--version'], {
      PATH,
      BINFLEET_AGENT_SNAPSHOT_DIR: SNAPSHOTS,
      BINFLEET_NODE: old,
    });
    expect(tooOld.status).toBe(127);
    expect(tooOld.stderr).toMatch(/is Node\.js v16\.20\.2; binfleet-agent needs 18 or newer/);
  });

  it("runs on Debian 12's Node.js 18 (the bundle's target), dockerode included", () => {
    // A Debian 12 root holding only nodejs 18 (and sh), the tarball extracted into it, run in a chroot.
    const root = join(dir, 'debian-node');
    extractPackages(debianNodePackages(), root);
    if (!existsSync(join(root, 'bin/sh'))) symlinkSync('dash', join(root, 'bin/sh'));
    mkdirSync(join(root, 'dev'));
    expect(spawnSync('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']).status).toBe(0);
    mkdirSync(join(root, 'opt/binfleet-agent'), { recursive: true });
    install(join(root, 'opt/binfleet-agent'));
    const env = { PATH: '/usr/bin:/bin' };
    const inRoot = (...args: string[]) => run('/usr/sbin/chroot', [root, ...args], env);
    expect(inRoot('node', '--version').stdout).toMatch(/^v18\./);

    const bin = '/opt/binfleet-agent/bin/binfleet-agent';
    expect(inRoot(bin, '--version')).toMatchObject({ status: 0, stdout: `${release.manifest.version}\n` });
    // No coreutils here: the launcher cannot name a startup snapshot (stat) and runs the bundle, quietly.
    const exported = inRoot(bin, 'export', '--format', 'debian', 'arm64');
    expect(exported).toMatchObject({ status: 0, stderr: '' });
    expect(exported.stdout).toMatch(/qemu-aarch64/);
    // Node 18 makes and starts the snapshot as the launcher would where it can: the same output.
    mkdirSync(join(root, 'tmp'));
    // In the chroot: where the launcher keeps its snapshots.
    const blob = '/var/cache/binfleet-agent/s.blob';
    mkdirSync(join(root, 'var/cache/binfleet-agent'), { recursive: true });
    const script = '/opt/binfleet-agent/lib/dist/bin/binfleet-agent-snapshot.cjs';
    expect(inRoot('node', '--snapshot-blob', blob, '--build-snapshot', script)).toMatchObject({
      status: 0,
      stderr: '',
    });
    const fromSnapshot = (...args: string[]) =>
      inRoot('node', '--snapshot-blob', blob, '--', 'binfleet-agent', ...args);
    expect(fromSnapshot('export', '--format', 'debian', 'arm64')).toEqual(exported);
    expect(fromSnapshot('--version')).toEqual(inRoot(bin, '--version'));
    expect(fromSnapshot('status', '--mount-point', '/tmp')).toEqual(
      inRoot(bin, 'status', '--mount-point', '/tmp'),
    );
    // The agent's own snapshot (`serve`) is made on Node 20 and newer only: on 18 its build fails and
    // says so (where the launcher can name snapshots, it then leaves its mark and runs the bundle).
    const refused = inRoot(
      'node',
      '--snapshot-blob',
      '/var/cache/binfleet-agent/serve.blob',
      '--build-snapshot',
      '/opt/binfleet-agent/lib/dist/bin/binfleet-agent-serve-snapshot.cjs',
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/the agent snapshot needs Node\.js 20 or newer/);
    expect(existsSync(join(root, 'var/cache/binfleet-agent/serve.blob'))).toBe(false);
    // dockerode loads lazily (verify, facts): from the tree's own node_modules.
    const dockerode = inRoot(
      'node',
      '-e',
      "const D = require('/opt/binfleet-agent/lib/node_modules/dockerode'); console.log(typeof new D({ socketPath: '/nonexistent' }).listImages)",
    );
    expect(dockerode).toMatchObject({ status: 0, stdout: 'function\n' });
  });
});

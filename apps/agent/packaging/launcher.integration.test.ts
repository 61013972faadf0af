import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { kernelSnapshot, startAgent, startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentClient } from '../src/server/agent-client.ts';
import { releaseForTests } from './release-for-tests.ts';

// The tarball's launcher (what the .deb installs too) with its startup snapshot and without: the
// same commands must give the same output and exit status either way.
const dir = mkdtempSync(join(tmpdir(), 'binfleet-launcher-'));
const snapshots = join(dir, 'snapshots');
const notBinfmt = join(dir, 'not-binfmt');
const calls = join(dir, 'node-calls');
const failBuilds = join(dir, 'fail-builds');
const failChecks = join(dir, 'fail-checks');
// The node the launcher runs: this one, through a script that notes each call's arguments (a line
// each), fails `--build-snapshot` while `fail-builds` exists, fails the launcher's check of a blob it
// has just made (a start from `.partial-*`) while `fail-checks` exists, and removes every blob under
// REMOVE_BLOBS.
const node = join(dir, 'node');
let bin: string;
let script: string;

const blobs = () => readdirSync(snapshots).filter((f) => f.endsWith('.blob'));

/** The launcher under umask 077 (as systemd runs services): what it makes must still serve every user. */
function run(args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync('/bin/sh', ['-c', 'umask 077; exec "$0" "$@"', bin, ...args], {
    env: { PATH: process.env['PATH']!, BINFLEET_NODE: node, BINFLEET_AGENT_SNAPSHOT_DIR: snapshots, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * How the launcher called node, from the calls noted: `--version` (its check), the build, the check of
 * the blob just made (a start from `.partial-*`), the start.
 */
function nodeCalls(): string[] {
  return readFileSync(calls, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) =>
      line.startsWith('--snapshot-blob') && line.includes('--build-snapshot')
        ? 'build'
        : line.startsWith('--snapshot-blob') && line.includes('/.partial-')
          ? 'check'
          : line.startsWith('--snapshot-blob')
            ? 'snapshot'
            : line === '--version'
              ? 'version check'
              : 'bundle',
    );
}

/** A run and how the launcher called node for it. */
function traced(args: readonly string[], env: Record<string, string> = {}) {
  writeFileSync(calls, '');
  const result = run(args, env);
  return { result, called: nodeCalls() };
}

const plain = (args: readonly string[]) => run(args, { BINFLEET_AGENT_SNAPSHOT_DIR: '' });

/** Light commands (the snapshot's) whose output does not depend on this machine's binfmt_misc. */
const LIGHT: readonly (readonly string[])[] = [
  ['--version'],
  ['-V'],
  ['--help'],
  ['help'],
  [],
  ['register', '--help'],
  ['register', '--mount-point', 'relative'],
  ['register', '--lock-wait', 'soon', '--mount-point', notBinfmt],
  ['register', '--no-such-option', '--mount-point', notBinfmt],
  ['export', '--format', 'debian', 'arm64'],
  ['export', 'no-such-arch'],
  ['status', '--mount-point', notBinfmt],
  ['status', '--json', '--mount-point', notBinfmt],
  ['remove', '--mount-point', notBinfmt],
  ['enable', '--mount-point', notBinfmt],
];

beforeAll(() => {
  const release = releaseForTests();
  const prefix = join(dir, 'prefix');
  mkdirSync(prefix);
  mkdirSync(snapshots);
  mkdirSync(notBinfmt);
  const tar = spawnSync('tar', ['-xzf', release.path('tarball'), '-C', prefix, '--strip-components=1']);
  expect(tar.status).toBe(0);
  bin = join(prefix, 'bin/binfleet-agent');
  script = join(prefix, 'lib/dist/bin/binfleet-agent-snapshot.cjs');
  writeFileSync(
    node,
    `#!/bin/sh\nprintf '%s\\n' "$*" >>'${calls}'\n` +
      `case "$*" in *--build-snapshot*) [ ! -e '${failBuilds}' ] || exit 1 ;; *.partial-*) [ ! -e '${failChecks}' ] || exit 1 ;; esac\n` +
      `[ -z "$REMOVE_BLOBS" ] || rm -f '${snapshots}'/*.blob\n` +
      `exec '${process.execPath}' "$@"\n`,
    { mode: 0o755 },
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the launcher', () => {
  it('makes a startup snapshot on the first light command, then starts those from it, with the output of the bundle', () => {
    const first = traced(['--version']);
    expect(first.called).toEqual(['version check', 'build', 'check', 'snapshot']);
    expect(first.result).toEqual(plain(['--version']));
    expect(blobs()).toHaveLength(1);
    expect(statSync(join(snapshots, blobs()[0]!)).mode & 0o777).toBe(0o644);
    expect(readdirSync(snapshots).filter((f) => !f.endsWith('.blob'))).toEqual([]);

    for (const args of LIGHT) {
      const { result, called } = traced(args);
      expect(called, args.join(' ')).toEqual(['snapshot']);
      expect(result, args.join(' ')).toEqual(plain(args));
    }
    // Any other command, also a mistyped one, is the bundle's.
    for (const args of [['version'], ['no-such-command'], ['']]) {
      const { result, called } = traced(args);
      expect(called, args.join(' ')).toEqual(['version check', 'bundle']);
      expect(result.stderr).not.toMatch(/snapshot/);
    }
  });

  it('never starts a snapshot made for another node or another agent version: it makes a new one, and drops blobs a week old', () => {
    const before = blobs();
    expect(before).toHaveLength(1);
    // A node upgraded in place: same path, another file.
    utimesSync(node, new Date(), new Date(Date.now() + 60_000));
    expect(traced(['--version']).called).toEqual(['version check', 'build', 'check', 'snapshot']);
    const afterNode = blobs();
    // The earlier blob stays for now: it may be another install's, in use.
    expect(afterNode).toHaveLength(2);
    expect(afterNode).toEqual(expect.arrayContaining(before));
    // Another agent version: another snapshot script. The blob made over a week ago goes with it.
    const weekOld = new Date(Date.now() - 8 * 86_400_000);
    utimesSync(join(snapshots, before[0]!), weekOld, weekOld);
    utimesSync(script, new Date(), new Date(Date.now() + 120_000));
    const { result, called } = traced(['export', '--format', 'debian', 'arm64']);
    expect(called).toEqual(['version check', 'build', 'check', 'snapshot']);
    expect(result).toEqual(plain(['export', '--format', 'debian', 'arm64']));
    const afterScript = blobs();
    expect(afterScript).toHaveLength(2);
    expect(afterScript).not.toContain(before[0]);
    expect(afterScript).toEqual(expect.arrayContaining(afterNode.filter((b) => b !== before[0])));
  });

  it('starts from its blob although another run removed it right after the launcher opened it', () => {
    expect(traced(['--version']).called).toEqual(['snapshot']);
    // The node script removes every blob before it runs node (REMOVE_BLOBS): node reads the one the
    // launcher holds open.
    const { result, called } = traced(['--version'], { REMOVE_BLOBS: '1' });
    expect(called).toEqual(['snapshot']);
    expect(result).toEqual(plain(['--version']));
    expect(blobs()).toEqual([]);
  });

  it('runs the bundle, quietly, under NODE_OPTIONS, where it cannot write and after node failed to make a snapshot', () => {
    // node refuses a snapshot under other V8 flags ("built with a different version of V8 or with
    // different V8 configurations", exit 14): the launcher does not try.
    const options = { NODE_OPTIONS: '--max-old-space-size=256' };
    for (const args of [['--version'], ['export', 'arm64']]) {
      const { result, called } = traced(args, options);
      expect(called).toEqual(['version check', 'bundle']);
      expect(result).toEqual(run(args, { ...options, BINFLEET_AGENT_SNAPSHOT_DIR: '' }));
    }

    const unwritable = { BINFLEET_AGENT_SNAPSHOT_DIR: '/proc/binfleet-agent-snapshots' };
    const { result, called } = traced(['--version'], unwritable);
    expect(called).toEqual(['version check', 'bundle']);
    expect(result).toEqual(plain(['--version']));

    writeFileSync(failBuilds, '');
    try {
      utimesSync(node, new Date(), new Date(Date.now() + 180_000));
      const failed = traced(['--version']);
      expect(failed.called).toEqual(['version check', 'build', 'bundle']);
      expect(failed.result).toEqual(plain(['--version']));
      expect(readdirSync(snapshots).filter((f) => f.endsWith('.failed'))).toHaveLength(1);
      expect(readdirSync(snapshots).filter((f) => f.startsWith('.partial'))).toEqual([]);
      // Once failed, not again for this node: the bundle at once.
      expect(traced(['--version']).called).toEqual(['version check', 'bundle']);
    } finally {
      rmSync(failBuilds);
    }

    // A blob node makes but cannot start from: never used, marked failed, the bundle this time and after.
    writeFileSync(failChecks, '');
    try {
      utimesSync(node, new Date(), new Date(Date.now() + 240_000));
      const before = blobs();
      const failed = traced(['--version']);
      expect(failed.called).toEqual(['version check', 'build', 'check', 'bundle']);
      expect(failed.result).toEqual(plain(['--version']));
      expect(blobs()).toEqual(before);
      expect(readdirSync(snapshots).filter((f) => f.endsWith('.failed'))).toHaveLength(2);
      expect(readdirSync(snapshots).filter((f) => f.startsWith('.partial'))).toEqual([]);
      expect(traced(['--version']).called).toEqual(['version check', 'bundle']);
    } finally {
      rmSync(failChecks);
    }
  });
});

describe('register through the snapshot and through the bundle', () => {
  // Each in a sandbox of its own (its own kernel binfmt_misc), the same commands in turns.
  let viaBundle: Sandbox;
  let viaSnapshot: Sandbox;
  // The audit lines name the process: its pid differs from run to run.
  const samePid = (text: string) => text.replace(/"pid":\d+/g, '"pid":0');

  beforeAll(async () => {
    viaBundle = await startSandbox();
    viaSnapshot = await startSandbox();
  });
  afterAll(async () => {
    await viaBundle?.stop();
    await viaSnapshot?.stop();
  });

  /** The command in the sandbox, how node was called, what it said and the entries it left. */
  async function inSandbox(sandbox: Sandbox, args: readonly string[], snapshotDir: string) {
    writeFileSync(calls, '');
    const r = await sandbox.exec(bin, args, {
      env: { BINFLEET_NODE: node, BINFLEET_AGENT_SNAPSHOT_DIR: snapshotDir, NODE_OPTIONS: '', HOST_ARCH: '' },
    });
    return {
      started: nodeCalls().at(-1),
      code: r.code,
      stdout: r.stdout,
      stderr: samePid(r.stderr),
      entries: kernelSnapshot(sandbox),
    };
  }

  it('changes the kernel the same way and says the same, also when it refuses', async () => {
    const snapshotDir = join(dir, 'snapshots-register');
    mkdirSync(snapshotDir);
    const steps: readonly (readonly string[])[] = [
      ['register', '--reset', '-p', 'yes'],
      ['register', '-p', 'yes'],
      ['status', '--json'],
      ['register', '--reset'],
      // Entries without F now: refused, naming what differs.
      ['register', '-p', 'yes'],
      ['disable', 'arm64'],
      ['status'],
      ['remove', '--all'],
    ];
    for (const args of steps) {
      const bundle = await inSandbox(viaBundle, args, '');
      const snapshot = await inSandbox(viaSnapshot, args, snapshotDir);
      expect([bundle.started, snapshot.started], args.join(' ')).toEqual(['bundle', 'snapshot']);
      expect({ ...snapshot, started: 'bundle' }, args.join(' ')).toEqual(bundle);
    }
    expect(readdirSync(snapshotDir).filter((f) => f.endsWith('.blob'))).toHaveLength(1);
  });
});

describe('serve through its snapshot and through the bundle', () => {
  const TOKEN = 'launcher-token-0123456789abcdefghijklmn';

  /** An agent started by the launcher in a sandbox of its own: how node was called, what it did. */
  async function serve(snapshotDir: string) {
    const sandbox = await startSandbox();
    writeFileSync(calls, '');
    const agent = await startAgent(sandbox, {
      bin,
      stateDir: mkdtempSync(join(dir, 'serve-state-')),
      // An image no one has: verify's container check asks dockerd through dockerode (which the
      // snapshot loads from beside the bundle) and is told it is missing.
      args: ['--reconcile-interval', '1h', '--verify-image', 'binfleet-test/absent-{debian}:latest'],
      env: {
        BINFLEET_NODE: node,
        BINFLEET_AGENT_SNAPSHOT_DIR: snapshotDir,
        BINFLEET_AGENT_TOKEN: TOKEN,
        HOST_ARCH: '',
        // As on a host: pnpm's NODE_PATH (the workspace's modules) would find dockerode from anywhere.
        NODE_PATH: '',
      },
    });
    try {
      const client = createAgentClient(agent.url, TOKEN);
      const applied = await client.applyState.mutate({ reset: true, persistent: true });
      const removed = await client.remove.mutate({ targets: ['arm64', 'riscv64'] });
      const { checks } = await client.verify.mutate({ targets: ['linux/s390x'], methods: ['container'] });
      return {
        called: nodeCalls(),
        // What node runs: the blob with the bundle's path for process.argv[1] (the agent finds its
        // install and dockerode from it), or the bundle.
        cmdline: readFileSync(`/proc/${agent.pid}/cmdline`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .slice(1)
          .map((arg) => (arg.startsWith(join(dir, 'serve-state-')) ? 'STATE' : arg)),
        // Times (the reconciler's last and next run, how long a check took) differ from run to run.
        answers: JSON.parse(
          JSON.stringify({ applied, removed, status: await client.status.query(), checks })
            .replace(/"\d{4}-\d\d-\d\dT[\d:.]+Z"/g, '"TIME"')
            .replace(/"durationMs":\d+/g, '"durationMs":0'),
        ) as unknown,
        entries: kernelSnapshot(sandbox),
        facts: await client.facts.query(),
        // Files it holds open that are startup snapshots (the launcher hands the blob over as fd 9).
        blobsOpen: readdirSync(`/proc/${agent.pid}/fd`)
          .map((fd) => {
            try {
              return readlinkSync(`/proc/${agent.pid}/fd/${fd}`);
            } catch {
              return '';
            }
          })
          .filter((target) => target.endsWith('.blob')),
        stderr: agent.stderr(),
      };
    } finally {
      await agent.stop();
      await sandbox.stop();
    }
  }

  it('starts the agent from a snapshot of its own, made on its first start, and it serves as the bundle does', async () => {
    const snapshotDir = join(dir, 'snapshots-serve');
    mkdirSync(snapshotDir);
    const bundle = join(dirname(dirname(bin)), 'lib/dist/bin/binfleet-agent.cjs');

    // Week-old blobs: the CLI's of this very version stays (another kind), the agent's of another goes.
    const weekOld = new Date(Date.now() - 8 * 86_400_000);
    for (const old of ['snapshot-1-2-3-4-5-6-7-8.blob', 'serve-snapshot-1-2-3-4-5-6-7-8.blob']) {
      writeFileSync(join(snapshotDir, old), '');
      utimesSync(join(snapshotDir, old), weekOld, weekOld);
    }

    const viaBundle = await serve('');
    expect(viaBundle.called).toEqual(['version check', 'bundle']);
    expect(viaBundle.cmdline).toEqual([bundle, 'serve', ...viaBundle.cmdline.slice(2)]);

    const first = await serve(snapshotDir);
    expect(first.called).toEqual(['version check', 'build', 'check', 'snapshot']);
    const made = readdirSync(snapshotDir).filter((f) => f !== 'snapshot-1-2-3-4-5-6-7-8.blob');
    expect(made).toEqual([expect.stringMatching(/^serve-snapshot-\d.*\.blob$/)]);
    expect(made[0]).not.toBe('serve-snapshot-1-2-3-4-5-6-7-8.blob');
    expect(statSync(join(snapshotDir, made[0]!)).mode & 0o777).toBe(0o644);

    const again = await serve(snapshotDir);
    expect(again.called).toEqual(['snapshot']);
    expect(again.cmdline).toEqual([
      '--snapshot-blob',
      '/dev/fd/9',
      '--',
      bundle,
      'serve',
      ...viaBundle.cmdline.slice(2),
    ]);
    for (const run of [first, again]) {
      expect(run.answers).toEqual(viaBundle.answers);
      expect(run.entries).toEqual(viaBundle.entries);
      // The same host as the bundle's agent sees it (dockerd's answer and the emulators' versions too).
      expect(run.facts.docker).toEqual(viaBundle.facts.docker);
      expect(run.facts.interpreters).toEqual(viaBundle.facts.interpreters);
      expect(run.stderr).toBe('');
      expect(run.blobsOpen).toEqual([]);
    }
    // The container check went to dockerd through dockerode, which said the image is missing.
    expect(viaBundle.answers).toMatchObject({
      checks: [
        {
          target: 's390x',
          method: 'container',
          status: 'skipped',
          detail: expect.stringMatching(/absent-s390x/),
        },
      ],
    });
    // What they did: every target registered, then two removed.
    expect(Object.keys(viaBundle.entries)).not.toContain('qemu-aarch64');
    expect(Object.keys(viaBundle.entries).filter((name) => name.startsWith('qemu-')).length).toBeGreaterThan(
      20,
    );
  });
});

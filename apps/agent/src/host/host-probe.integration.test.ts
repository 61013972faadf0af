import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostOs } from '../adapters/host-os.ts';
import { nodeHostOs } from '../adapters/node-host-os.ts';
import { HostProbe, type HostFacts } from './host-probe.ts';

const AGENT = resolve(import.meta.dirname, '../..');
const ENTRY = join(AGENT, 'src/testing/sandbox-entry.ts');
const QEMU = { interpreterDir: '/usr/bin', suffix: '-static' };

describe('HostProbe on this machine', () => {
  it('reports what uname and hostname report', async () => {
    const facts = await new HostProbe(nodeHostOs).facts();
    expect(facts.machine).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    expect(facts.kernelRelease).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    expect(facts.hostname).toBe(hostname());
  });

  it('finds the installed qemu-user-static emulators with their versions, in one process, and caches them', async () => {
    let runs = 0;
    let processes = 0;
    const counting: HostOs = {
      ...nodeHostOs,
      run: (...args) => (runs++, processes++, nodeHostOs.run(...args)),
      runEach: (paths, ...args) => ((runs += paths.length), processes++, nodeHostOs.runEach(paths, ...args)),
    };
    const probe = new HostProbe(counting);

    const started = performance.now();
    const found = await probe.interpreters(QEMU);
    const firstMs = performance.now() - started;
    const runsFirst = runs;
    const again = performance.now();
    expect(await probe.interpreters(QEMU)).toEqual(found);
    const cachedMs = performance.now() - again;
    // Kept: the second call started nothing (how long each took is printed, not asserted).
    expect(runs).toBe(runsFirst);
    console.info(
      `interpreters: ${found.length} found, ${runs} --version runs, first ${firstMs.toFixed(0)} ms, cached ${cachedMs.toFixed(0)} ms`,
    );

    // Debian's qemu-user-static ships an emulator for all but a few of the table's targets.
    expect(found.length).toBeGreaterThanOrEqual(30);
    expect(found.every((i) => i.error === undefined)).toBe(true);
    const aarch64 = found.find((i) => i.target === 'aarch64');
    expect(aarch64).toMatchObject({
      path: '/usr/bin/qemu-aarch64-static',
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
    expect(aarch64?.package).toMatch(/^Debian \d+:/);
    expect(aarch64?.package).toBe(
      /\((.*)\)/.exec(execFileSync('/usr/bin/qemu-aarch64-static', ['--version'], { encoding: 'utf8' }))?.[1],
    );
    // i386 and i486 share qemu-i386-static: one run each per file, none the second time, all of
    // them started by one process.
    expect(runs).toBe(new Set(found.map((i) => i.path)).size);
    expect(processes).toBe(1);
  });

  it('sees emulators installed, linked or made non-executable through its inotify watch, and stats nothing while nothing changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'host-probe-watch-'));
    try {
      await copyFile('/usr/bin/qemu-aarch64-static', join(dir, 'qemu-aarch64-static'));
      await chmod(join(dir, 'qemu-aarch64-static'), 0o755);
      let looked = 0;
      const probe = new HostProbe({ ...nodeHostOs, fileFacts: (p) => (looked++, nodeHostOs.fileFacts(p)) });
      const targets = async () =>
        (await probe.interpreters({ interpreterDir: dir, suffix: '-static' }, { waitForVersions: false }))
          .map((i) => i.target)
          .sort();

      expect(await targets()).toEqual(['aarch64']);
      const once = looked;
      expect(await targets()).toEqual(['aarch64']);
      expect(looked).toBe(once);

      // Each change reaches the next facts within the watch's delivery (a turn of the event loop).
      await symlink('/usr/bin/qemu-s390x-static', join(dir, 'qemu-s390x-static'));
      await vi.waitFor(async () => expect(await targets()).toEqual(['aarch64', 's390x']), { timeout: 5_000 });
      await chmod(join(dir, 'qemu-aarch64-static'), 0o644);
      await vi.waitFor(async () => expect(await targets()).toEqual(['s390x']), { timeout: 5_000 });
      await rm(join(dir, 'qemu-s390x-static'));
      await vi.waitFor(async () => expect(await targets()).toEqual([]), { timeout: 5_000 });
      // Quiet again: kept, once the watch follows what the emulators resolve into (no longer /usr/bin).
      await targets();
      const settled = looked;
      expect(await targets()).toEqual([]);
      expect(looked).toBe(settled);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tells an executable from a missing or non-executable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'host-probe-'));
    try {
      const plain = join(dir, 'qemu-plain');
      await writeFile(plain, '', { mode: 0o644 });
      const probe = new HostProbe(nodeHostOs);
      expect(await probe.interpreterExists('/usr/bin/qemu-aarch64-static')).toBe(true);
      expect(await probe.interpreterExists(join(dir, 'qemu-missing'))).toBe(false);
      expect(await probe.interpreterExists(plain)).toBe(false);
      expect(await probe.interpreterExists(dir)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('HostProbe inside a user namespace', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox?.stop());

  it('sees that it is nested, and that binfmt_misc registrations there stay there', async () => {
    const outside = await new HostProbe(nodeHostOs).facts();
    const run = await sandbox.exec('node', ['--import', 'tsx', ENTRY, 'facts'], { cwd: AGENT });
    expect(run.stderr).toBe('');
    const inside = JSON.parse(run.stdout) as HostFacts;
    expect(outside.inUserNamespace).toBe(false);
    expect(inside).toEqual({ ...outside, inUserNamespace: true, binfmtNamespaced: true });
  });
});

import { describe, expect, it, vi } from 'vitest';
import { FakeHostOs } from '../testing/fake-host-os.ts';
import type { ProcessResult } from '../adapters/host-os.ts';
import { HostProbe } from './host-probe.ts';

const versionOf =
  (name: string, version = '7.2.19') =>
  (): ProcessResult => ({
    exitCode: 0,
    stdout: `${name} version ${version} (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright (c) 2003-2022\n`,
    stderr: '',
    timedOut: false,
  });

describe('HostProbe.facts', () => {
  it('reports identity and the initial user namespace', async () => {
    const os = new FakeHostOs({ hostname: 'build-7', machine: 'aarch64', kernelRelease: '6.18.44-fc' });
    os.files.set('/proc/self/uid_map', { content: '         0          0 4294967295\n' });
    expect(await new HostProbe(os).facts()).toEqual({
      hostname: 'build-7',
      machine: 'aarch64',
      kernelRelease: '6.18.44-fc',
      inUserNamespace: false,
      binfmtNamespaced: false,
    });
  });

  it('says a nested user namespace has its own binfmt_misc only from Linux 6.7 on', async () => {
    const facts = async (kernelRelease: string) => {
      const os = new FakeHostOs({ kernelRelease });
      os.files.set('/proc/self/uid_map', { content: '         0       1000          1\n' });
      return new HostProbe(os).facts();
    };
    expect(await facts('6.7.0')).toMatchObject({ inUserNamespace: true, binfmtNamespaced: true });
    expect(await facts('7.0.1')).toMatchObject({ inUserNamespace: true, binfmtNamespaced: true });
    expect(await facts('6.6.30')).toMatchObject({ inUserNamespace: true, binfmtNamespaced: false });
    expect(await facts('5.15.0-91-generic')).toMatchObject({ binfmtNamespaced: false });
  });

  it('treats a map with several ranges as a nested namespace', async () => {
    const os = new FakeHostOs();
    os.files.set('/proc/self/uid_map', { content: '0 0 1000\n1000 1000 4294966295\n' });
    expect((await new HostProbe(os).facts()).inUserNamespace).toBe(true);
  });

  it('takes a kernel without /proc/self/uid_map (no user namespaces) as the initial namespace', async () => {
    expect((await new HostProbe(new FakeHostOs()).facts()).inUserNamespace).toBe(false);
  });
});

describe('HostProbe.interpreterExists', () => {
  it('wants an executable regular file', async () => {
    const os = new FakeHostOs();
    os.files.set('/usr/bin/qemu-aarch64-static', { mode: 0o755 });
    os.files.set('/usr/bin/qemu-arm-static', { mode: 0o644 });
    os.files.set('/usr/bin/qemu-s390x-static', { isFile: false, mode: 0o755 });
    const probe = new HostProbe(os);
    expect(await probe.interpreterExists('/usr/bin/qemu-aarch64-static')).toBe(true);
    expect(await probe.interpreterExists('/usr/bin/qemu-arm-static')).toBe(false);
    expect(await probe.interpreterExists('/usr/bin/qemu-s390x-static')).toBe(false);
    expect(await probe.interpreterExists('/usr/bin/qemu-ppc64le-static')).toBe(false);
  });
});

describe('HostProbe.interpreters', () => {
  it('lists the emulators present with their versions, in table order', async () => {
    const os = new FakeHostOs();
    os.files.set('/opt/qemu/qemu-s390x', {});
    os.files.set('/opt/qemu/qemu-aarch64', {});
    os.programs.set('/opt/qemu/qemu-s390x', versionOf('qemu-s390x'));
    os.programs.set('/opt/qemu/qemu-aarch64', versionOf('qemu-aarch64'));
    expect(await new HostProbe(os).interpreters({ interpreterDir: '/opt/qemu/' })).toEqual([
      {
        target: 's390x',
        path: '/opt/qemu/qemu-s390x',
        version: '7.2.19',
        package: 'Debian 1:7.2+dfsg-7+deb12u18',
      },
      {
        target: 'aarch64',
        path: '/opt/qemu/qemu-aarch64',
        version: '7.2.19',
        package: 'Debian 1:7.2+dfsg-7+deb12u18',
      },
    ]);
  });

  it('finds the emulators of each location asked, and refuses a bad one every time', async () => {
    const os = new FakeHostOs();
    os.files.set('/usr/bin/qemu-aarch64-static', {});
    os.files.set('/usr/bin/qemu-aarch64', {});
    os.files.set('/opt/qemu/qemu-aarch64-static', {});
    const probe = new HostProbe(os);
    const paths = async (interpreterDir: string, suffix?: string) =>
      (await probe.interpreters({ interpreterDir, ...(suffix === undefined ? {} : { suffix }) })).map(
        (i) => i.path,
      );
    // Each more than once: the paths a location gives are kept, by directory and suffix.
    for (let i = 0; i < 2; i++) {
      expect(await paths('/usr/bin', '-static')).toEqual(['/usr/bin/qemu-aarch64-static']);
      expect(await paths('/usr/bin')).toEqual(['/usr/bin/qemu-aarch64']);
      expect(await paths('/opt/qemu', '-static')).toEqual(['/opt/qemu/qemu-aarch64-static']);
      await expect(paths('relative/dir', '-static')).rejects.toThrow(/absolute/);
    }
  });

  it('reports an emulator that does not answer --version instead of dropping it', async () => {
    const os = new FakeHostOs();
    os.files.set('/usr/bin/qemu-arm-static', {});
    os.files.set('/usr/bin/qemu-mips-static', {});
    os.programs.set('/usr/bin/qemu-arm-static', () => ({ stdout: '', stderr: '', timedOut: true }));
    os.programs.set('/usr/bin/qemu-mips-static', () => ({
      exitCode: 0,
      stdout: 'hello\n',
      stderr: '',
      timedOut: false,
    }));
    const found = await new HostProbe(os, { versionTimeoutMs: 50 }).interpreters({
      interpreterDir: '/usr/bin',
      suffix: '-static',
    });
    expect(found).toEqual([
      {
        target: 'arm',
        path: '/usr/bin/qemu-arm-static',
        error: '/usr/bin/qemu-arm-static --version did not finish within 50 ms',
      },
      {
        target: 'mips',
        path: '/usr/bin/qemu-mips-static',
        error: '/usr/bin/qemu-mips-static --version did not print a QEMU version (exit 0)',
      },
    ]);
  });

  it.each([
    ['looked at every time', false],
    ['watched', true],
  ])(
    'runs --version once per file until the file changes, and again a minute after a failure (%s)',
    async (_, watchable) => {
      const os = new FakeHostOs();
      os.watchable = watchable;
      // A file changed where the probe watches it.
      const change = (file: { mtimeMs: number }) => {
        os.files.set('/usr/bin/qemu-i386', file);
        os.changedIn('/usr/bin');
      };
      let answer = versionOf('qemu-i386', '7.2.19');
      os.files.set('/usr/bin/qemu-i386', { mtimeMs: 1 });
      os.programs.set('/usr/bin/qemu-i386', () => answer());
      let now = 0;
      const probe = new HostProbe(os, { now: () => now });
      const location = { interpreterDir: '/usr/bin' };

      // i386 and i486 share qemu-i386: one run serves both.
      expect((await probe.interpreters(location)).map((i) => [i.target, i.version])).toEqual([
        ['i386', '7.2.19'],
        ['i486', '7.2.19'],
      ]);
      await probe.interpreters(location);
      expect(os.runs).toHaveLength(1);

      answer = versionOf('qemu-i386', '8.0.0');
      change({ mtimeMs: 2 });
      expect((await probe.interpreters(location))[0]!.version).toBe('8.0.0');
      expect(os.runs).toHaveLength(2);

      answer = () => ({ stdout: '', stderr: '', timedOut: true });
      change({ mtimeMs: 3 });
      expect((await probe.interpreters(location))[0]!.error).toContain('did not finish');
      now += 59_000;
      expect((await probe.interpreters(location))[0]!.error).toContain('did not finish');
      expect(os.runs).toHaveLength(3);
      now += 1_000;
      answer = versionOf('qemu-i386', '8.0.1');
      expect((await probe.interpreters(location))[0]!.version).toBe('8.0.1');
      expect(os.runs).toHaveLength(4);
    },
  );

  it('without waiting for versions: leaves out those not read yet, reads them at the lowest priority, and says when they are in', async () => {
    const os = new FakeHostOs();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    os.files.set('/usr/bin/qemu-s390x', {});
    os.files.set('/usr/bin/qemu-mips', {});
    os.programs.set('/usr/bin/qemu-s390x', async () => {
      await released;
      return versionOf('qemu-s390x')();
    });
    os.programs.set('/usr/bin/qemu-mips', async () => ({
      exitCode: 1,
      stdout: '',
      stderr: '',
      timedOut: false,
    }));
    let now = 0;
    const probe = new HostProbe(os, { now: () => now });
    let told = 0;
    probe.onVersionsRead(() => told++);
    const location = { interpreterDir: '/usr/bin' };

    expect(await probe.interpreters(location, { waitForVersions: false })).toEqual([
      { target: 'mips', path: '/usr/bin/qemu-mips' },
      { target: 's390x', path: '/usr/bin/qemu-s390x' },
    ]);
    expect(os.batches).toEqual([{ paths: ['/usr/bin/qemu-mips', '/usr/bin/qemu-s390x'], background: true }]);
    // Asked again meanwhile: the same run, not another.
    await probe.interpreters(location, { waitForVersions: false });
    expect(os.batches).toHaveLength(1);
    expect(told).toBe(0);

    release();
    await vi.waitFor(() => expect(told).toBe(1));
    const read = await probe.interpreters(location, { waitForVersions: false });
    expect(read).toEqual([
      {
        target: 'mips',
        path: '/usr/bin/qemu-mips',
        error: '/usr/bin/qemu-mips --version did not print a QEMU version (exit 1)',
      },
      { target: 's390x', path: '/usr/bin/qemu-s390x', version: '7.2.19', package: expect.any(String) },
    ]);
    // The failure is shown, not asked again at once: no run, and no one told, per heartbeat.
    expect(os.batches).toHaveLength(1);
    expect(told).toBe(1);
    // A caller that waits gets the same, from the same runs.
    expect(await probe.interpreters(location)).toEqual(read);
    expect(os.batches).toHaveLength(1);

    // A minute on, the failure is asked again; meanwhile it is still what is shown.
    now += 60_000;
    let again!: () => void;
    const rerun = new Promise<void>((resolve) => (again = resolve));
    let mipsAnswer = { exitCode: 1, stdout: '', stderr: '', timedOut: false } as ProcessResult;
    os.programs.set('/usr/bin/qemu-mips', async () => {
      await rerun;
      return mipsAnswer;
    });
    expect(await probe.interpreters(location, { waitForVersions: false })).toEqual(read);
    expect(os.batches.at(-1)).toEqual({ paths: ['/usr/bin/qemu-mips'], background: true });
    // It fails alike: nothing new, no one told.
    again();
    await vi.waitFor(() => expect(os.runs).toHaveLength(3));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(told).toBe(1);
    // A minute later it answers: told.
    now += 60_000;
    mipsAnswer = versionOf('qemu-mips')();
    await probe.interpreters(location, { waitForVersions: false });
    await vi.waitFor(() => expect(told).toBe(2));
    expect((await probe.interpreters(location, { waitForVersions: false }))[0]!.version).toBe('7.2.19');
  });

  it('says when versions are in after a run that a waiting caller started, too', async () => {
    const os = new FakeHostOs();
    os.files.set('/usr/bin/qemu-s390x', {});
    os.programs.set('/usr/bin/qemu-s390x', versionOf('qemu-s390x'));
    const probe = new HostProbe(os);
    let told = 0;
    probe.onVersionsRead(() => told++);
    expect((await probe.interpreters({ interpreterDir: '/usr/bin' }))[0]!.version).toBe('7.2.19');
    expect(os.batches).toEqual([{ paths: ['/usr/bin/qemu-s390x'], background: false }]);
    await vi.waitFor(() => expect(told).toBe(1));
  });

  it('asks every emulator not known yet in one go, one at a time', async () => {
    const os = new FakeHostOs();
    let running = 0;
    let peak = 0;
    for (const name of ['aarch64', 'arm', 's390x', 'ppc64le', 'riscv64', 'mips64el']) {
      os.files.set(`/usr/bin/qemu-${name}`, {});
      os.programs.set(`/usr/bin/qemu-${name}`, async () => {
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return versionOf(`qemu-${name}`)();
      });
    }
    const batches: (readonly string[])[] = [];
    const runEach = os.runEach.bind(os);
    os.runEach = (paths, args) => (batches.push(paths), runEach(paths, args));
    const probe = new HostProbe(os);
    expect(await probe.interpreters({ interpreterDir: '/usr/bin' })).toHaveLength(6);
    expect(batches).toHaveLength(1);
    expect([...batches[0]!].sort()).toEqual(
      ['aarch64', 'arm', 'mips64el', 'ppc64le', 'riscv64', 's390x'].map((n) => `/usr/bin/qemu-${n}`),
    );
    expect(peak).toBe(1);
    // A changed file is asked again, alone.
    os.files.set('/usr/bin/qemu-s390x', { mtimeMs: 2 });
    await probe.interpreters({ interpreterDir: '/usr/bin' });
    expect(batches.slice(1)).toEqual([['/usr/bin/qemu-s390x']]);
  });

  describe('looks at the emulators again only after something changed where they are', () => {
    const counted = (os: FakeHostOs) => {
      const looked: string[] = [];
      const fileFacts = os.fileFacts.bind(os);
      os.fileFacts = (path) => (looked.push(path), fileFacts(path));
      return looked;
    };
    const targets = async (probe: HostProbe, interpreterDir = '/usr/bin') =>
      (await probe.interpreters({ interpreterDir, suffix: '-static' }, { waitForVersions: false })).map(
        (i) => i.target,
      );

    it('keeps what it found while the directory is watched and unchanged; a change there and it looks again', async () => {
      const os = new FakeHostOs();
      os.watchable = true;
      os.files.set('/usr/bin/qemu-aarch64-static', {});
      const looked = counted(os);
      const probe = new HostProbe(os);

      expect(await targets(probe)).toEqual(['aarch64']);
      const once = looked.length;
      expect(once).toBeGreaterThanOrEqual(30);
      expect(await targets(probe)).toEqual(['aarch64']);
      expect(looked).toHaveLength(once);

      // Installed: the watch tells, and the next facts have it.
      os.files.set('/usr/bin/qemu-s390x-static', {});
      expect(await targets(probe)).toEqual(['aarch64']);
      os.changedIn('/usr/bin');
      expect(await targets(probe)).toEqual(['s390x', 'aarch64']);
      expect(looked).toHaveLength(2 * once);
      // One watch at a time: the one of the earlier look was stopped.
      expect(os.watched.get('/usr/bin')?.size).toBe(1);
      // Removed, or made non-executable: the same.
      os.files.set('/usr/bin/qemu-s390x-static', { mode: 0o644 });
      os.changedIn('/usr/bin');
      expect(await targets(probe)).toEqual(['aarch64']);
    });

    it('watches the directories symlinked emulators resolve into too', async () => {
      const os = new FakeHostOs();
      os.watchable = true;
      os.files.set('/usr/libexec/qemu-binfmt/qemu-aarch64-static', {});
      os.links.set('/usr/libexec/qemu-binfmt/qemu-aarch64-static', '/usr/bin/qemu-aarch64');
      const looked = counted(os);
      const probe = new HostProbe(os);
      const dir = '/usr/libexec/qemu-binfmt';

      expect(await targets(probe, dir)).toEqual(['aarch64']);
      // /usr/bin was not watched when it looked: the next look watches both.
      expect(await targets(probe, dir)).toEqual(['aarch64']);
      expect([...os.watched.keys()].sort()).toEqual(['/usr/bin', dir]);
      const twice = looked.length;
      expect(await targets(probe, dir)).toEqual(['aarch64']);
      expect(looked).toHaveLength(twice);
      // An upgrade replaces the file the link points to.
      os.files.set('/usr/libexec/qemu-binfmt/qemu-aarch64-static', { mode: 0o644 });
      os.changedIn('/usr/bin');
      expect(await targets(probe, dir)).toEqual([]);
    });

    it('watches before it looks: a change during the look is seen on the next', async () => {
      const os = new FakeHostOs();
      os.watchable = true;
      os.files.set('/usr/bin/qemu-aarch64-static', {});
      const fileFacts = os.fileFacts.bind(os);
      let during = true;
      os.fileFacts = (path) => {
        // s390x installed while the probe is between its first and its last file.
        if (during && path === '/usr/bin/qemu-aarch64-static') {
          during = false;
          os.files.set('/usr/bin/qemu-s390x-static', {});
          os.changedIn('/usr/bin');
        }
        return fileFacts(path);
      };
      const probe = new HostProbe(os);
      await targets(probe);
      expect(await targets(probe)).toEqual(['s390x', 'aarch64']);
    });

    it('looks again after a minute without any change seen (what a watch cannot see), and stops watching what no emulator resolves into', async () => {
      const os = new FakeHostOs();
      os.watchable = true;
      os.files.set('/opt/q/qemu-aarch64-static', {});
      os.links.set('/opt/q/qemu-aarch64-static', '/usr/bin/qemu-aarch64');
      let now = 0;
      const looked = counted(os);
      const probe = new HostProbe(os, { now: () => now });
      await targets(probe, '/opt/q');
      await targets(probe, '/opt/q');
      const watched = looked.length;
      expect([...os.watched.keys()].sort()).toEqual(['/opt/q', '/usr/bin']);
      now += 59_000;
      await targets(probe, '/opt/q');
      expect(looked).toHaveLength(watched);
      // Replaced without an event (a network file system): seen once the look is a minute old.
      os.files.delete('/opt/q/qemu-aarch64-static');
      os.links.delete('/opt/q/qemu-aarch64-static');
      now += 1_000;
      expect(await targets(probe, '/opt/q')).toEqual([]);
      expect(await targets(probe, '/opt/q')).toEqual([]);
      expect([...os.watched.keys()]).toEqual(['/opt/q']);
    });

    it('looks every time where the directory cannot be watched', async () => {
      const os = new FakeHostOs();
      os.files.set('/usr/bin/qemu-aarch64-static', {});
      const looked = counted(os);
      const probe = new HostProbe(os);
      expect(await targets(probe)).toEqual(['aarch64']);
      const once = looked.length;
      os.files.set('/usr/bin/qemu-s390x-static', {});
      expect(await targets(probe)).toEqual(['s390x', 'aarch64']);
      expect(looked).toHaveLength(2 * once);
    });
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRegisterLine, targetRegisterSpec } from '@binfleet/arch-table';
import { kernelSnapshot, REPO, agentBundle, startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// Guard rails on a real kernel binfmt_misc (a private one per test file): every refused command
// leaves the kernel's entries exactly as they were, and the host's own programs still run after it.
describe('binfleet-agent guard rails on the kernel', () => {
  let sandbox: Sandbox;
  let scratch: string;
  const agent = (args: string[], env: Record<string, string> = {}) =>
    sandbox.exec('node', [agentBundle(), ...args], { cwd: REPO, env: { HOST_ARCH: '', ...env } });
  const kernel = () => kernelSnapshot(sandbox);
  const entry = (name: string) => readFileSync(`${sandbox.hostMountPoint}/${name}`, 'utf8');
  /** The host's own programs, started inside the sandbox, where the registrations apply. */
  const hostStillRuns = async () => {
    expect(await sandbox.exec('/bin/sh', ['-c', 'true'])).toMatchObject({ code: 0 });
    expect(await sandbox.exec('node', ['-e', 'process.exit(0)'])).toMatchObject({ code: 0 });
  };
  /** Runs a command that must be refused: exit 1, the kernel unchanged, no stack trace, the host fine. */
  const refused = async (args: string[], message: RegExp, env: Record<string, string> = {}) => {
    const before = kernel();
    const r = await agent(args, env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(kernel()).toEqual(before);
    await hostStillRuns();
    return r;
  };
  /** An entry of another name, written straight into the kernel (not through the agent). */
  const registerForeign = (name: string, target: 'aarch64' | 's390x') =>
    writeFileSync(
      `${sandbox.hostMountPoint}/register`,
      encodeRegisterLine({
        ...targetRegisterSpec(target, { interpreterDir: '/usr/bin' }),
        name,
        interpreter: '/usr/bin/true',
        flags: '',
      }),
    );

  beforeAll(async () => {
    sandbox = await startSandbox();
    scratch = mkdtempSync(join(tmpdir(), 'binfleet-guard-'));
  });
  afterEach(() => {
    // From outside the sandbox: a forced native entry stops every program inside, the agent too.
    writeFileSync(`${sandbox.hostMountPoint}/status`, '-1');
  });
  afterAll(async () => {
    await sandbox?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe("1. never the host's own programs", () => {
    it('refuses HOST_ARCH=aarch64 register --reset -p yes on this x86_64 host, naming the program it matches', async () => {
      expect((await agent(['register', 's390x', '-p', 'yes'])).code).toBe(0);
      const r = await refused(
        ['register', '--reset', '-p', 'yes'],
        /qemu-x86_64 would take this host's own programs/,
        {
          HOST_ARCH: 'aarch64',
        },
      );
      expect(r.stderr).toContain(process.execPath);
      expect(r.stderr).toContain('--force-native');
      expect(Object.keys(kernel())).toContain('qemu-s390x');
    });

    it.each([['x86_64'], ['linux/amd64'], ['amd64']])(
      'refuses register %s whatever the spelling',
      async (name) => {
        await refused(['register', name], /qemu-x86_64 would take this host's own programs/);
      },
    );

    it('registers with --force-native only with a loud warning and an audit line; the host then breaks', async () => {
      const r = await agent(['register', 'x86_64', '--force-native']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^WARNING: --force-native/m);
      const audit = r.stderr.split('\n').find((l) => l.startsWith('AUDIT '));
      expect(JSON.parse(audit!.slice('AUDIT '.length))).toMatchObject({
        event: 'audit',
        action: 'force-native',
        target: 'x86_64',
        argv: ['register', 'x86_64', '--force-native'],
      });
      expect(entry('qemu-x86_64')).toMatch(/^enabled$/m);
      // What the rail is for: the host's own shell no longer starts in there.
      expect((await sandbox.exec('/bin/sh', ['-c', 'true'])).code).not.toBe(0);
      writeFileSync(`${sandbox.hostMountPoint}/qemu-x86_64`, '-1');
      await hostStillRuns();
    });
  });

  describe('2. never emulators that are missing', () => {
    it('refuses register --reset -Q /opt/nothing (no F) and leaves the kernel as it was', async () => {
      expect((await agent(['register', 's390x'])).code).toBe(0);
      const r = await refused(['register', '--reset', '-Q', '/opt/nothing'], /emulators are missing/);
      expect(r.stderr).toContain('/opt/nothing/qemu-aarch64-static');
      expect(r.stderr).toContain('--allow-missing');
    });

    it('registers them for a staged install with --allow-missing, saying so', async () => {
      const r = await agent(['register', 'aarch64', '-Q', '/opt/nothing', '--allow-missing']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^Warning: --allow-missing: .*\/opt\/nothing\/qemu-aarch64-static/m);
      expect(entry('qemu-aarch64')).toMatch(/^interpreter \/opt\/nothing\/qemu-aarch64-static$/m);
      await hostStillRuns();
    });

    it('still refuses F with --allow-missing: the kernel opens the emulator at once', async () => {
      await refused(
        ['register', 'aarch64', '-Q', '/opt/nothing', '--allow-missing', '-p', 'yes'],
        /Persistent \(F\)/,
      );
    });
  });

  describe('3. never silently beside an overlapping entry', () => {
    it('names an entry of another name with the same magic and refuses, even with --reset', async () => {
      registerForeign('box-arm64', 'aarch64');
      const r = await refused(['register', 'aarch64'], /overlaps the entry "box-arm64" \(\/usr\/bin\/true\)/);
      expect(r.stderr).toContain('--force');
      await refused(['register', '--reset'], /box-arm64/);
    });

    it('registers beside it with --force, naming it in a warning', async () => {
      registerForeign('box-arm64', 'aarch64');
      const r = await agent(['register', 'aarch64', '--force']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^Warning: --force: qemu-aarch64 overlaps the entry "box-arm64"/m);
      expect(Object.keys(kernel())).toEqual(expect.arrayContaining(['box-arm64', 'qemu-aarch64']));
    });

    it('does not mind entries of other machines', async () => {
      registerForeign('box-s390x', 's390x');
      expect((await agent(['register', 'aarch64'])).code).toBe(0);
    });
  });

  describe('4. C is never set quietly', () => {
    const cWarning = /^Warning: C \(credential\) is set: setuid/m;

    it('warns on stderr when registering with -c yes', async () => {
      const r = await agent(['register', 's390x', '-c', 'yes']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(cWarning);
      expect(entry('qemu-s390x')).toMatch(/^flags: OC$/m);
    });

    it('warns when exporting files that set it, and is quiet without it', async () => {
      const dir = mkdtempSync(join(scratch, 'c-'));
      const exported = await agent(['register', '--systemd', 's390x', '-e', dir, '-c', 'yes']);
      expect(exported.code).toBe(0);
      expect(exported.stderr).toMatch(cWarning);
      expect((await agent(['export', 's390x', '-c', 'yes'])).stderr).toMatch(cWarning);
      expect((await agent(['export', 's390x'])).stderr).toBe('');
    });
  });

  describe('5. plain errors for every export failure', () => {
    it.each([
      ['a directory that does not exist', () => join(scratch, 'typo/dir'), /does not exist\. Create it/],
      ['a file', () => join(REPO, 'package.json'), /is not a directory/],
      ['a place nobody can write files into', () => '/proc', /cannot write to \/proc/],
    ])('--exportdir at %s: exit 1, one plain line, nothing created', async (_, dirOf, message) => {
      const dir = dirOf();
      for (const args of [
        ['register', '--systemd', 'ALL', '--exportdir', dir],
        ['register', '--debian', '-e', dir],
        ['export', '--exportdir', dir],
      ]) {
        const r = await refused(args, message);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).not.toContain('unexpected error');
      }
      expect(existsSync(join(scratch, 'typo'))).toBe(false);
    });
  });

  describe("6. qemu-binfmt-conf.sh's own spellings", () => {
    it.each([
      [['-F', '-static', '-Q', '/usr/bin', '-p', 'yes']],
      [['-F-static', '-Q/usr/bin', '-pyes']],
      [['--qemu-suffix', '-static', '--qemu-path=/usr/bin', '--persist', 'yes']],
    ])('register %j s390x', async (options) => {
      const r = await agent(['register', ...options, 's390x']);
      expect(r.code, r.stderr).toBe(0);
      expect(entry('qemu-s390x')).toMatch(/^interpreter \/usr\/bin\/qemu-s390x-static$/m);
      expect(entry('qemu-s390x')).toMatch(/^flags: F$/m);
      expect(Object.keys(kernel()).filter((n) => n.startsWith('qemu-'))).toEqual(['qemu-s390x']);
    });

    it('register TARGET... registers just those, under any name', async () => {
      expect((await agent(['register', 'arm64', 'linux/riscv64', '-p', 'yes'])).code).toBe(0);
      expect(Object.keys(kernel()).filter((n) => n.startsWith('qemu-'))).toEqual([
        'qemu-aarch64',
        'qemu-riscv64',
      ]);
      await refused(['register', 'pdp11'], /Unknown architecture "pdp11"/);
    });

    it('an option missing its value is a usage error (exit 2) and changes nothing', async () => {
      const before = kernel();
      const r = await agent(['register', '-F']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/-F needs a value/);
      expect(kernel()).toEqual(before);
    });

    it.each([
      ['register'],
      ['status'],
      ['remove'],
      ['enable'],
      ['disable'],
      ['verify'],
      ['export'],
      ['serve'],
    ])('%s --help prints its usage and exits 0', async (command) => {
      const r = await agent([command, '--help']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^Usage: binfleet-agent ${command}`));
    });

    it('verify that checked nothing exits 1 and says why', async () => {
      const none = await agent(['verify', '--method', 'probe']);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/Nothing was verified: no qemu-\* entry is registered/);
      expect((await agent(['register', 's390x'])).code).toBe(0);
      const skipped = await agent([
        'verify',
        '--method',
        'container',
        '--docker-socket',
        join(scratch, 'no.sock'),
      ]);
      expect(skipped.code).toBe(1);
      expect(skipped.stdout).toMatch(/^SKIP s390x/m);
      expect(skipped.stderr).toMatch(/Nothing was verified: every check was skipped/);
    });
  });

  it('leaves no file behind in the scratch directory it did not mean to write', () => {
    expect(readdirSync(scratch).every((n) => n.startsWith('c-'))).toBe(true);
  });
});

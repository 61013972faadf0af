import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeRegisterLine,
  expectedEntry,
  formatEntryFile,
  HOST_ARCH_RULES,
  normalizeHostArch,
  parseEntryFile,
  registerLineOfEntryFile,
  registerSpecOfEntry,
  renderRegisterScript,
  targetRegisterSpec,
  targetsForHost,
  TARGET_IDS,
  unknownHostArchMessage,
  type TargetId,
} from './index.ts';

const SEED = { interpreterDir: '/usr/bin', suffix: '-static' } as const;

// The script's decisions against a plain directory standing in for binfmt_misc (its `register` is a
// regular file, so the script does not try to mount): what it reads, compares and writes. The kernel
// itself is in register-script.integration.test.ts.
describe('register entrypoint script', () => {
  let dir: string;
  let script: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'register-script-'));
    script = join(dir, 'register.sh');
    writeFileSync(script, renderRegisterScript());
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const mount = () => {
    const m = join(dir, 'mnt');
    mkdirSync(m, { recursive: true });
    if (!existsSync(join(m, 'register'))) writeFileSync(join(m, 'register'), '');
    return m;
  };
  const run = (args: string[], env: Record<string, string> = {}) => {
    const m = mount();
    const r = spawnSync('sh', [script, '--mount-point', m, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOST_ARCH: 'x86_64', ...env },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.trim().split('\n') };
  };
  const entry = (id: TargetId, flags: { persistent?: boolean; credential?: boolean }, enabled = true) => {
    const m = mount();
    const spec = targetRegisterSpec(id, { ...SEED, ...flags });
    writeFileSync(join(m, spec.name), formatEntryFile({ ...expectedEntry(spec), enabled }));
  };
  const registerFile = () => readFileSync(join(mount(), 'register'), 'utf8');
  const withAllRegistered = (host: string, flags: { persistent?: boolean }) => {
    for (const id of targetsForHost(host)) entry(id, flags);
  };

  it('is valid POSIX sh and carries every target line the arch table makes', () => {
    expect(spawnSync('sh', ['-n', script]).status).toBe(0);
    const text = renderRegisterScript();
    for (const id of TARGET_IDS) expect(text).toContain(encodeRegisterLine(targetRegisterSpec(id, SEED)));
    expect(renderRegisterScript({ interpreterDir: '/opt/qemu' })).toContain(
      ':qemu-aarch64:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:',
    );
    expect(renderRegisterScript({ interpreterDir: '/opt/qemu' })).toContain(
      "'/opt/qemu/qemu-aarch64-static'",
    );
    // Each normalisation rule becomes a case arm, so sh and normalizeHostArch cannot drift apart.
    for (const rule of HOST_ARCH_RULES) expect(text).toContain(rule.glob);
  });

  it('is a no-op when every entry is already registered identically', () => {
    withAllRegistered('x86_64', { persistent: true });
    const r = run(['-p', 'yes']);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(
      targetsForHost('x86_64').map((id) => `qemu-${id} is already registered identically`),
    );
    expect(registerFile()).toBe('');
  });

  it('applies the host family rules from uname -m or HOST_ARCH, as normalizeHostArch does', () => {
    for (const host of ['arm64', 'armv7l', 'i686', 'ppc64el', 'riscv64']) {
      withAllRegistered(host, {});
      const r = run([], { HOST_ARCH: host });
      expect(r.code, `${host}: ${r.stderr}`).toBe(0);
      expect(r.lines, host).toEqual(
        targetsForHost(host).map((id) => `qemu-${id} is already registered identically`),
      );
      rmSync(mount(), { recursive: true });
    }
    expect(normalizeHostArch('armv7l')).toBe('arm');
    const vax = run([], { HOST_ARCH: 'vax' });
    expect(vax.code).toBe(1);
    expect(vax.stderr.trim()).toBe(unknownHostArchMessage('vax'));
  });

  it('refuses entries registered with other settings and writes nothing', () => {
    withAllRegistered('x86_64', {});
    entry('aarch64', { persistent: true });
    const r = run([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/registered with other settings \(use --reset or --force.*\): qemu-aarch64\n$/);
    expect(r.stdout).toBe('');
    expect(registerFile()).toBe('');
  });

  it('replaces a differing entry with --force and re-enables a disabled identical one', () => {
    withAllRegistered('x86_64', { persistent: true });
    entry('aarch64', {});
    entry('s390x', { persistent: true }, false);
    const r = run(['--force', '-p', 'yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toContain('Removed qemu-aarch64 (registered with other settings)');
    expect(r.lines).toContain('Setting /usr/bin/qemu-aarch64-static as binfmt interpreter for aarch64');
    expect(r.lines).toContain('Enabled qemu-s390x');
    expect(readFileSync(join(mount(), 'qemu-aarch64'), 'utf8')).toBe('-1');
    expect(readFileSync(join(mount(), 'qemu-s390x'), 'utf8')).toBe('1');
    expect(registerFile()).toBe(
      encodeRegisterLine(targetRegisterSpec('aarch64', { ...SEED, persistent: true })),
    );
  });

  it('writes the flags of -c/-p/-g in the order of the register line', () => {
    withAllRegistered('x86_64', {});
    rmSync(join(mount(), 'qemu-loongarch64'));
    const r = run(['-c', 'yes', '--preserve-argv0=yes', '--force']);
    expect(r.code, r.stderr).toBe(0);
    // loongarch64 is the last target: the register file keeps the last line written.
    expect(registerFile()).toBe(
      encodeRegisterLine(
        targetRegisterSpec('loongarch64', { ...SEED, credential: true, preserveArgv0: true }),
      ),
    );
    expect(registerFile().endsWith(':OCP')).toBe(true);
  });

  it('removes every qemu-* entry with --reset and no other', () => {
    withAllRegistered('x86_64', {});
    writeFileSync(join(mount(), 'qemu-unknown'), 'enabled\n');
    writeFileSync(join(mount(), 'python3'), 'enabled\n');
    const r = run(['--reset']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines.filter((l) => l.startsWith('Removed'))).toHaveLength(targetsForHost('x86_64').length + 1);
    expect(readFileSync(join(mount(), 'qemu-unknown'), 'utf8')).toBe('-1');
    expect(readFileSync(join(mount(), 'python3'), 'utf8')).toBe('enabled\n');
  });

  it('needs the interpreters for -p yes, before changing anything', () => {
    writeFileSync(script, renderRegisterScript({ interpreterDir: '/nonexistent' }));
    withAllRegistered('x86_64', {});
    const r = run(['--reset', '-p', 'yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing: \/nonexistent\/qemu-alpha-static .*register without -p yes/);
    expect(readFileSync(join(mount(), 'qemu-aarch64'), 'utf8')).toMatch(/^enabled\n/);
  });

  it('reports bad options like the CLI', () => {
    expect(run(['-p', 'maybe']).stderr.trim()).toBe('--persistent expects yes or no, got "maybe".');
    expect(run(['--bogus']).stderr.trim()).toBe('Unknown option "--bogus". See --help.');
    expect(run(['-c']).stderr.trim()).toBe('Option -c needs a value. See --help.');
    expect(run(['--reset=yes']).code).toBe(1);
    const help = run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--reset');
  });
});

describe('entry files both ways', () => {
  it('parses back what formatEntryFile prints', () => {
    const spec = targetRegisterSpec('aarch64', { ...SEED, persistent: true });
    const e = expectedEntry(spec);
    expect(parseEntryFile(spec.name, formatEntryFile(e))).toEqual(e);
    expect(formatEntryFile(e)).toBe(
      'enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\noffset 0\n' +
        'magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n',
    );
  });

  it('turns an entry back into the registration that makes it', () => {
    for (const id of TARGET_IDS) {
      const spec = targetRegisterSpec(id, { ...SEED, credential: true, persistent: true });
      const again = registerSpecOfEntry(parseEntryFile(spec.name, formatEntryFile(expectedEntry(spec))));
      expect(expectedEntry(again)).toEqual(expectedEntry(spec));
      expect(encodeRegisterLine(again)).toMatch(
        /^:qemu-[a-z0-9_]+:M:0?:(\\x[0-9a-f]{2})+:(\\x[0-9a-f]{2})+:\/usr\/bin\/qemu-/,
      );
    }
    const ext = parseEntryFile('x', 'disabled\ninterpreter /bin/true\nflags: \nextension .xyz\n');
    expect(encodeRegisterLine(registerSpecOfEntry(ext))).toBe(':x:E::xyz::/bin/true:');
    expect(registerLineOfEntryFile('x', 'disabled\ninterpreter /bin/true\nflags: \nextension .xyz\n')).toBe(
      ':x:E::xyz::/bin/true:',
    );
  });
});

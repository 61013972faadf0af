import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AGENT_BIN, agentBundle, fixtures, startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// The seed's own checks (multiarch/qemu-user-static test.sh), run against a private kernel
// binfmt_misc with the real qemu-user-static and real arm64 binaries.
const REPO = resolve(import.meta.dirname, '../../../..');
// The CLI as users run it (the bundle); the export checks below run the sources through tsx, as
// `pnpm exec binfleet-agent` does.
const CLI = agentBundle();
const FIXTURES = join(REPO, 'packages/arch-table/src/fixtures');

describe('binfleet-agent register (seed-compatible)', () => {
  let sandbox: Sandbox;
  const agent = (...args: string[]) =>
    sandbox.exec('node', [CLI, ...args], { cwd: REPO, env: { HOST_ARCH: '' } });
  const entry = (name: string) => readFileSync(`${sandbox.hostMountPoint}/${name}`, 'utf8');
  const entries = () =>
    readdirSync(sandbox.hostMountPoint)
      .filter((n) => n !== 'register' && n !== 'status')
      .sort();

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterEach(async () => {
    await agent('remove', '--all');
  });
  afterAll(() => sandbox?.stop());

  it('--reset -p yes registers qemu-aarch64 with F and a real arm64 binary then runs', async () => {
    const arm64 = fixtures().busybox('arm64');
    const before = await sandbox.exec(arm64, ['uname', '-m']);
    expect(before.code).not.toBe(0);
    expect(before.stderr).toMatch(/format error/i);

    const r = await agent('register', '--reset', '-p', 'yes');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Setting /usr/bin/qemu-aarch64-static as binfmt interpreter for aarch64');
    expect(entry('qemu-aarch64')).toMatch(/^flags: F$/m);
    expect(entry('qemu-aarch64')).toMatch(/^interpreter \/usr\/bin\/qemu-aarch64-static$/m);

    const after = await sandbox.exec(arm64, ['uname', '-m']);
    expect(after).toMatchObject({ code: 0, stdout: 'aarch64\n' });
  });

  it('--reset alone gives empty flags, replacing a persistent registration', async () => {
    await agent('register', '-p', 'yes');
    const r = await agent('register', '--reset');
    expect(r.code).toBe(0);
    expect(entry('qemu-aarch64')).toMatch(/^flags: $/m);
  });

  it('-p yes twice in a row succeeds and the second run changes nothing', async () => {
    expect((await agent('register', '-p', 'yes')).code).toBe(0);
    const first = entries().map((n) => entry(n));
    const second = await agent('register', '-p', 'yes');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('qemu-aarch64 is already registered identically');
    expect(entries().map((n) => entry(n))).toEqual(first);
  });

  it('does not register the host family on this x86_64 machine', async () => {
    await agent('register', '--reset', '-p', 'yes');
    const names = entries();
    expect(names).toHaveLength(31);
    expect(names).not.toContain('qemu-i386');
    expect(names).not.toContain('qemu-i486');
    expect(names).not.toContain('qemu-x86_64');
  });

  it('reports a different existing entry with what differs and changes nothing without --force', async () => {
    await agent('register');
    const r = await agent('register', '-p', 'yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('flags is "", wanted "F"');
    expect(r.stderr).toContain('--reset or --force');
    expect(entry('qemu-aarch64')).toMatch(/^flags: $/m);
    expect((await agent('register', '-p', 'yes', '--force')).code).toBe(0);
    expect(entry('qemu-aarch64')).toMatch(/^flags: F$/m);
  });

  it('refuses -p yes with a missing interpreter before writing anything, naming file and package', async () => {
    const r = await agent('register', '-p', 'yes', '-Q', '/nonexistent/bin');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/nonexistent/bin/qemu-aarch64-static');
    expect(r.stderr).toContain('qemu-user-static');
    expect(entries()).toEqual([]);
  });

  it.each([
    [['-Q', 'usr/bin'], /relative/],
    [['-Q', '/usr/bin:/x'], /':'/],
    [['-Q', '/usr/bin\n:evil:M::a::/bin/sh:'], /control character/],
    [['-F', '-static:F'], /suffix/],
    [['-p', 'maybe'], /expects yes or no/],
  ])('rejects bad input %j with a clear error and no kernel change', async (args, message) => {
    const r = await agent('register', ...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(entries()).toEqual([]);
  });

  it('accepts any alias in remove/disable/enable and rejects unknown architectures', async () => {
    await agent('register', '-p', 'yes');
    expect((await agent('disable', 'arm64v8')).code).toBe(0);
    expect(entry('qemu-aarch64')).toMatch(/^disabled$/m);
    expect((await agent('enable', 'linux/arm64')).code).toBe(0);
    expect(entry('qemu-aarch64')).toMatch(/^enabled$/m);
    expect((await agent('remove', 'arm64', 's390x')).code).toBe(0);
    expect(entries()).not.toContain('qemu-aarch64');
    const bad = await agent('remove', 'pdp11');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Unknown architecture "pdp11"/);
  });

  it('status --json shows the parsed kernel entries', async () => {
    await agent('register', '-p', 'yes', '-c', 'yes');
    const r = await agent('status', '--json');
    const status = JSON.parse(r.stdout);
    expect(status.mounted).toBe(true);
    const aarch64 = status.entries.find((e: { name: string }) => e.name === 'qemu-aarch64');
    expect(aarch64).toMatchObject({ target: 'aarch64', entry: { flags: 'OCF', enabled: true, offset: 0 } });
  });
});

describe('binfleet-agent register --systemd/--debian (export, no kernel)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-export-'));
    // As with qemu's script, --exportdir must exist: a typo is never created.
    await mkdir(join(dir, 'systemd'));
    await mkdir(join(dir, 'debian'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const exported = (d: string) =>
    readdirSync(d)
      .sort()
      .map((f) => `==> ${f} <==\n${readFileSync(join(d, f), 'utf8')}`)
      .join('');
  const run = async (...args: string[]) => {
    const { execFile } = await import('node:child_process');
    return new Promise<number>((done) =>
      execFile(
        'node',
        [AGENT_BIN, ...args],
        { cwd: REPO, env: { ...process.env, HOST_ARCH: 'x86_64' } },
        (e) => done(e ? 1 : 0),
      ),
    );
  };

  it('--systemd ALL -p yes writes byte for byte what qemu-binfmt-conf.sh writes', async () => {
    expect(await run('register', '--systemd', 'ALL', '--exportdir', `${dir}/systemd`, '-p', 'yes')).toBe(0);
    expect(exported(`${dir}/systemd`)).toBe(
      readFileSync(join(FIXTURES, 'qemu-binfmt-conf.systemd-all.x86_64.p-yes.txt'), 'utf8'),
    );
  });

  it('--debian -p yes -c yes writes the update-binfmts templates qemu-binfmt-conf.sh writes', async () => {
    expect(await run('register', '--debian', '--exportdir', `${dir}/debian`, '-p', 'yes', '-c', 'yes')).toBe(
      0,
    );
    expect(exported(`${dir}/debian`)).toBe(
      readFileSync(join(FIXTURES, 'qemu-binfmt-conf.debian.x86_64.p-yes.c-yes.txt'), 'utf8'),
    );
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtures, startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectedEntry,
  parseEntryFile,
  renderRegisterScript,
  targetRegisterSpec,
  targetsForHost,
  type FlagOptions,
} from './index.ts';

const SEED = { interpreterDir: '/usr/bin', suffix: '-static' } as const;

// The rendered entrypoint under the register image's own shell (Debian's static busybox) against the
// kernel's binfmt_misc in a private sandbox: what it leaves there is what `binfleet-agent register`
// leaves (the arch table's expected entries), and a second run changes nothing.
describe('register entrypoint script in a real binfmt_misc', () => {
  let sandbox: Sandbox;
  let dir: string;
  let script: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(join(tmpdir(), 'register-script-'));
    script = join(dir, 'register');
    writeFileSync(script, renderRegisterScript(), { mode: 0o755 });
  });
  afterAll(async () => {
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) =>
    sandbox.exec(fixtures().busybox('amd64'), ['sh', script, ...args], { env: { HOST_ARCH: 'x86_64' } });
  const entries = () =>
    Object.fromEntries(
      readdirSync(sandbox.hostMountPoint)
        .filter((n) => n !== 'register' && n !== 'status')
        .map((n) => [n, readFileSync(join(sandbox.hostMountPoint, n), 'utf8')]),
    );
  const expected = (flags: FlagOptions) =>
    Object.fromEntries(
      targetsForHost('x86_64').map((id) => {
        const spec = targetRegisterSpec(id, { ...SEED, ...flags });
        return [spec.name, expectedEntry(spec)];
      }),
    );
  const parsed = () =>
    Object.fromEntries(Object.entries(entries()).map(([n, t]) => [n, parseEntryFile(n, t)]));

  it('--reset -p yes registers every foreign target with F, and again is a no-op', async () => {
    const first = await run('--reset', '-p', 'yes');
    expect(first.code, first.stderr).toBe(0);
    expect(parsed()).toEqual(expected({ persistent: true }));
    expect(parsed()['qemu-aarch64']?.flags).toBe('F');

    const before = entries();
    const again = await run('-p', 'yes');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/Setting|Removed/);
    expect(again.stdout.trim().split('\n')).toHaveLength(targetsForHost('x86_64').length);
    expect(entries()).toEqual(before);
  });

  it('refuses other settings without --reset, then --reset alone registers without flags', async () => {
    const before = entries();
    const refused = await run('-c', 'yes');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/registered with other settings/);
    expect(entries()).toEqual(before);

    const reset = await run('--reset');
    expect(reset.code, reset.stderr).toBe(0);
    expect(parsed()).toEqual(expected({}));
    expect(entries()['qemu-aarch64']).toMatch(/^flags: $/m);
  });

  it('--force -c yes -g yes replaces entries with credential and argv0 flags', async () => {
    const forced = await run('--force', '-c', 'yes', '-g', 'yes');
    expect(forced.code, forced.stderr).toBe(0);
    expect(parsed()).toEqual(expected({ credential: true, preserveArgv0: true }));
    expect(parsed()['qemu-aarch64']?.flags).toBe('POC');
  });

  it("keeps the seed's behaviour: registers without F although the emulators are not there", async () => {
    // The register image carries no emulators: with the seed's :register workflow they live in the
    // guest images, so unlike binfleet-agent register its entrypoint does not refuse this.
    const elsewhere = join(dir, 'register-elsewhere');
    writeFileSync(elsewhere, renderRegisterScript({ interpreterDir: '/opt/nothing', suffix: '-static' }), {
      mode: 0o755,
    });
    const runElsewhere = (...args: string[]) =>
      sandbox.exec(fixtures().busybox('amd64'), ['sh', elsewhere, ...args], { env: { HOST_ARCH: 'x86_64' } });
    const r = await runElsewhere('--reset');
    expect(r.code, r.stderr).toBe(0);
    expect(parsed()['qemu-aarch64']).toMatchObject({
      interpreter: '/opt/nothing/qemu-aarch64-static',
      flags: '',
    });
    const before = entries();
    const persistent = await runElsewhere('--reset', '-p', 'yes');
    expect(persistent.code).not.toBe(0);
    expect(persistent.stderr).toMatch(/Persistent \(F\) registration needs the interpreters/);
    expect(entries()).toEqual(before);
    await run('--reset');
  });

  it('runs a foreign binary through what it registered', async () => {
    expect((await run('--reset', '-p', 'yes')).code).toBe(0);
    const uname = await sandbox.exec(fixtures().busybox('arm64'), ['uname', '-m']);
    expect(uname.stdout.trim()).toBe('aarch64');
  });
});

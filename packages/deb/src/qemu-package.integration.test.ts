// The package reader against .debs that the real dpkg-deb builds and reads: small ones shaped like
// qemu-user-static (an emulator per target under usr/bin), since listing the real ones takes ~8 s each.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQemuPackage, rememberingQemuPackageReader } from './qemu-package.ts';

/** A qemu-user-static-like .deb for `arch` with a small emulator file per target. */
function buildDeb(dir: string, arch: string, targets: readonly string[]): string {
  const root = join(dir, `root-${arch}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(
    join(root, 'DEBIAN/control'),
    `Package: qemu-user-static\nVersion: 1:7.2+dfsg-7\nArchitecture: ${arch}\nMaintainer: binfleet tests <tests@binfleet.invalid>\nDescription: test package\n`,
  );
  for (const target of targets)
    writeFileSync(join(root, `usr/bin/qemu-${target}-static`), `${arch} ${target}\n`);
  const deb = join(dir, `qemu-user-static_${arch}.deb`);
  execFileSync('/usr/bin/dpkg-deb', ['--root-owner-group', '--build', root, deb], { stdio: 'ignore' });
  return deb;
}

describe('a reader that remembers listings, over packages the real dpkg-deb built', () => {
  let dir: string;
  let log: string;
  const debs: Record<'amd64' | 'arm64' | 'armhf', string> = { amd64: '', arm64: '', armhf: '' };
  const path = process.env.PATH;
  /** The dpkg-deb commands run since the last call (`-c` lists, `-f` reads control fields). */
  const dpkgRuns = () => {
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    writeFileSync(log, '');
    return lines.map((line) => line.split(' ')[0]);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'binfleet-deb-reader-'));
    log = join(dir, 'dpkg-deb.log');
    writeFileSync(log, '');
    // The real dpkg-deb, with each run noted first.
    writeFileSync(join(dir, 'dpkg-deb'), `#!/bin/sh\necho "$*" >> '${log}'\nexec /usr/bin/dpkg-deb "$@"\n`);
    chmodSync(join(dir, 'dpkg-deb'), 0o755);
    process.env.PATH = `${dir}:${path}`;
    debs.amd64 = buildDeb(dir, 'amd64', ['aarch64', 'arm', 'riscv64']);
    debs.arm64 = buildDeb(dir, 'arm64', ['x86_64', 'arm']);
    debs.armhf = buildDeb(dir, 'armhf', ['x86_64']);
  });
  afterAll(() => {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists a package once; the same bytes at another path, read again, are not listed again', async () => {
    const read = rememberingQemuPackageReader();
    const deb = debs.amd64;
    const first = await read(deb);
    expect(first).toMatchObject({ architecture: 'amd64', targets: ['arm', 'aarch64', 'riscv64'] });
    expect(dpkgRuns().sort()).toEqual(['-c', '-f']);
    expect(first).toEqual(await readQemuPackage(deb));
    dpkgRuns();
    const copy = join(dir, 'copy.deb');
    copyFileSync(deb, copy);
    const again = await read(copy);
    expect(dpkgRuns()).toEqual(['-f']);
    expect(again).toEqual({ ...first, path: copy });
  });

  it('lists a path again once its bytes changed, and gives the new package facts', async () => {
    const read = rememberingQemuPackageReader();
    const file = join(dir, 'changing.deb');
    copyFileSync(debs.amd64, file);
    expect((await read(file)).architecture).toBe('amd64');
    copyFileSync(debs.arm64, file);
    dpkgRuns();
    const changed = await read(file);
    expect(dpkgRuns().sort()).toEqual(['-c', '-f']);
    expect(changed).toEqual({ ...(await readQemuPackage(debs.arm64)), path: file });
  });

  it('forgets the least recently read package past what it keeps', async () => {
    const read = rememberingQemuPackageReader(1);
    const amd64 = debs.amd64;
    const armhf = debs.armhf;
    await read(amd64);
    await read(armhf);
    dpkgRuns();
    await read(armhf);
    expect(dpkgRuns()).toEqual(['-f']);
    await read(amd64);
    expect(dpkgRuns().sort()).toEqual(['-c', '-f']);
  });
});

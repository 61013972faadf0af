import { describe, expect, it } from 'vitest';
import {
  describePackage,
  emulatorsInListing,
  parseControlFields,
  UNPACK_LIMITS,
  unpackedSizeOf,
  upstreamVersionOf,
} from './qemu-package.ts';

const LISTING = [
  'drwxr-xr-x root/root         0 2026-05-25 20:44 ./usr/bin/',
  '-rwxr-xr-x root/root  12918384 2026-05-25 20:44 ./usr/bin/qemu-aarch64-static',
  '-rwxr-xr-x root/root  10135696 2026-05-25 20:44 ./usr/bin/qemu-alpha-static',
  '-rwxr-xr-x root/root   9999999 2026-05-25 20:44 ./usr/bin/qemu-cris-static',
  'lrwxrwxrwx root/root         0 2026-05-25 20:44 ./usr/bin/qemu-arm64-static -> qemu-aarch64-static',
  '-rw-r--r-- root/root       123 2026-05-25 20:44 ./usr/lib/binfmt.d/qemu-aarch64.conf',
  '-rwxr-xr-x root/root      1000 2026-05-25 20:44 ./usr/libexec/qemu-binfmt/aarch64-binfmt-P',
].join('\n');

describe('reading a qemu-user-static package', () => {
  it('reads control fields as dpkg-deb -f prints them', () => {
    expect(
      parseControlFields(
        'Package: qemu-user-static\nVersion: 1:7.2+dfsg-7+deb12u18+b3\nArchitecture: amd64\n',
      ),
    ).toEqual({
      Package: 'qemu-user-static',
      Version: '1:7.2+dfsg-7+deb12u18+b3',
      Architecture: 'amd64',
    });
  });

  it('lists the emulator files, not symlinks or other files', () => {
    expect(emulatorsInListing(LISTING)).toEqual([
      'qemu-aarch64-static',
      'qemu-alpha-static',
      'qemu-cris-static',
    ]);
  });

  it('takes the upstream version out of a Debian version', () => {
    expect(upstreamVersionOf('1:7.2+dfsg-7+deb12u18+b3')).toBe('7.2');
    expect(upstreamVersionOf('1:8.2.2+ds-0ubuntu1.4')).toBe('8.2.2');
    expect(upstreamVersionOf('7.2.0')).toBe('7.2.0');
  });

  it('maps the package architecture to from-arch and keeps the table targets in table order', () => {
    const pkg = describePackage({
      path: '/p.deb',
      size: 1,
      sha256: 'x',
      control: { Package: 'qemu-user-static', Version: '1:7.2+dfsg-7', Architecture: 'arm64' },
      listing: LISTING,
    });
    expect(pkg).toMatchObject({ fromArch: 'aarch64', upstreamVersion: '7.2', targets: ['alpha', 'aarch64'] });
    expect(pkg.emulators).toContain('qemu-cris-static');
  });

  it('refuses packages it cannot build from, saying why', () => {
    const base = { path: '/p.deb', size: 1, sha256: 'x', listing: LISTING };
    expect(() => describePackage({ ...base, control: { Package: 'x', Version: '1' } })).toThrowError(
      /no Package, Version or Architecture/,
    );
    expect(() =>
      describePackage({ ...base, control: { Package: 'x', Version: '1', Architecture: 'all' } }),
    ).toThrowError(/architecture "all"/);
    expect(() =>
      describePackage({
        ...base,
        listing: '',
        control: { Package: 'x', Version: '1', Architecture: 'amd64' },
      }),
    ).toThrowError(/no usr\/bin\/qemu-<target>-static/);
  });
});

describe('unpack limits', () => {
  const control = { Package: 'qemu-user-static', Version: '1:7.2', Architecture: 'amd64' };
  const base = { path: '/p.deb', size: 1, sha256: 'x', control };

  it('counts files and bytes from the listing', () => {
    expect(unpackedSizeOf(LISTING)).toEqual({ files: 7, bytes: 12918384 + 10135696 + 9999999 + 123 + 1000 });
  });

  it('refuses a package that would unpack to more bytes or files than the limits, before unpacking', () => {
    const bomb = `${LISTING}\n-rw-r--r-- root/root 3221225472 2026-05-25 20:44 ./usr/share/huge`;
    expect(() => describePackage({ ...base, listing: bomb })).toThrowError(
      /unpacks to 8 files and \d+ bytes, more than 5000 files or 2147483648 bytes/,
    );
    const many = [
      LISTING,
      ...Array.from(
        { length: UNPACK_LIMITS.maxFiles },
        (_, i) => `-rw-r--r-- root/root 1 2026-05-25 20:44 ./f${i}`,
      ),
    ].join('\n');
    expect(() => describePackage({ ...base, listing: many })).toThrowError(/more than 5000 files/);
  });
});

import { describe, expect, it } from 'vitest';
import { parseQemuVersion } from './qemu-version.ts';

describe('parseQemuVersion', () => {
  it('reads the version and the distribution package', () => {
    const text =
      'qemu-aarch64 version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)\n' +
      'Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n';
    expect(parseQemuVersion(text)).toEqual({ version: '7.2.19', package: 'Debian 1:7.2+dfsg-7+deb12u18' });
  });

  it('reads an upstream build without a package', () => {
    expect(parseQemuVersion('qemu-riscv64 version 9.1.0\n')).toEqual({ version: '9.1.0' });
  });

  it('refuses output that is not QEMU', () => {
    expect(parseQemuVersion('BusyBox v1.35.0 (Debian 1:1.35.0-4)')).toBeUndefined();
    expect(parseQemuVersion('')).toBeUndefined();
  });
});

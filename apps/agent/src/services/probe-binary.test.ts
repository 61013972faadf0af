import { describe, expect, it } from 'vitest';
import { fakeElfOf as elfOf, FakeHostOs } from '../testing/fake-host-os.ts';
import { findProbeBinary, probeCandidates } from './probe-binary.ts';

describe('probe binaries', () => {
  it('looks under the Debian names first, then the target id', () => {
    expect(probeCandidates('/fixtures/busybox/', 'arm')).toEqual([
      '/fixtures/busybox/armhf/busybox',
      '/fixtures/busybox/armel/busybox',
      '/fixtures/busybox/arm/busybox',
    ]);
    expect(probeCandidates('/p', 'aarch64_be')).toEqual(['/p/aarch64_be/busybox']);
  });

  it('finds the Debian layout and the target layout', async () => {
    const os = new FakeHostOs();
    os.files.set('/p/arm64/busybox', { content: elfOf('aarch64') });
    os.files.set('/p/s390x/busybox', { content: elfOf('s390x') });
    os.files.set('/p/mips64el/busybox', { content: elfOf('mips64el') });
    expect(await findProbeBinary(os, '/p', 'aarch64')).toEqual({ path: '/p/arm64/busybox' });
    expect(await findProbeBinary(os, '/p', 's390x')).toEqual({ path: '/p/s390x/busybox' });
    expect(await findProbeBinary(os, '/p', 'mips64el')).toEqual({ path: '/p/mips64el/busybox' });
  });

  it('refuses a binary of another architecture and says which one it is', async () => {
    const os = new FakeHostOs();
    os.files.set('/p/arm64/busybox', { content: elfOf('arm') });
    expect(await findProbeBinary(os, '/p', 'aarch64')).toEqual({
      reason: 'no aarch64 probe binary: /p/arm64/busybox is a arm binary',
    });
    os.files.set('/p/arm64/busybox', { content: '#!/bin/sh\n' });
    expect(await findProbeBinary(os, '/p', 'aarch64')).toEqual({
      reason: 'no aarch64 probe binary: /p/arm64/busybox is not an executable ELF file',
    });
  });

  it('says where to put one when there is none', async () => {
    expect(await findProbeBinary(new FakeHostOs(), '/p', 'ppc64le')).toEqual({
      reason:
        'no ppc64le probe binary: put a static busybox of that architecture at /p/ppc64el/busybox or /p/ppc64le/busybox',
    });
  });
});

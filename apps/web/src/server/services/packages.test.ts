import { describe, expect, it } from 'vitest';
import { uploadFilename } from './packages.ts';

describe('uploadFilename', () => {
  it('keeps the base name of what the browser sends, URI-decoded', () => {
    expect(uploadFilename(encodeURIComponent('qemu-user-static_1:7.2+dfsg-7_amd64.deb'))).toBe(
      'qemu-user-static_1:7.2+dfsg-7_amd64.deb',
    );
    expect(uploadFilename('C%3A%5Cdownloads%5Cqemu.deb')).toBe('qemu.deb');
    expect(uploadFilename('..%2F..%2Fetc%2Fpasswd')).toBe('passwd');
  });

  it('drops control characters and falls back to a neutral name', () => {
    expect(uploadFilename('evil%0A%1B%5B31mname.deb')).toBe('evil[31mname.deb');
    expect(uploadFilename(null)).toBe('package.deb');
    expect(uploadFilename('%E0%A4%A')).toBe('package.deb');
    expect(uploadFilename('dir%2F')).toBe('package.deb');
  });

  it('keeps at most 255 characters', () => {
    expect(uploadFilename('a'.repeat(300))).toHaveLength(255);
  });
});

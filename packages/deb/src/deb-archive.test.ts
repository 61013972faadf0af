import { describe, expect, it } from 'vitest';
import { DEB_HEAD_BYTES, debHeadProblem } from './deb-archive.ts';

/** An ar member header: name, mtime, uid, gid, mode, size, end marker. */
const member = (name: string, size: number) =>
  name.padEnd(16) +
  '0'.padEnd(12) +
  '0'.padEnd(6) +
  '0'.padEnd(6) +
  '100644'.padEnd(8) +
  String(size).padEnd(10) +
  '`\n';
const head = (text: string) => Buffer.from(text, 'latin1');

describe('debHeadProblem', () => {
  it('accepts the head of a .deb as dpkg and as GNU ar write it', () => {
    expect(debHeadProblem(head(`!<arch>\n${member('debian-binary', 4)}2.0\n`))).toBeUndefined();
    expect(
      debHeadProblem(head(`!<arch>\n${member('debian-binary/', 4)}2.0\ncontrol.tar.xz`)),
    ).toBeUndefined();
  });

  it.each([
    ['empty', '', /too short/],
    ['a gzip file', '\x1f\x8b\x08\x00'.padEnd(DEB_HEAD_BYTES, '\0'), /not an ar archive/],
    [
      'an ar archive of something else',
      `!<arch>\n${member('libfoo.o/', 4)}ELF\x7f`,
      /first member is "libfoo.o"/,
    ],
    ['a broken member header', `!<arch>\n${member('debian-binary', 4).slice(0, 58)}xx2.0\n`, /malformed/],
    ['another format version', `!<arch>\n${member('debian-binary', 4)}3.0\n`, /not format 2/],
  ])('refuses %s', (_, text, message) => {
    expect(debHeadProblem(head(text))).toMatch(message);
  });
});

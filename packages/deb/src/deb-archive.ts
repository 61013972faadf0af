/**
 * The first bytes of a Debian binary package, checked without unpacking it: an ar archive
 * (`!<arch>\n`) whose first member is `debian-binary` holding the format version (`2.0\n`).
 * Enough to refuse anything else early (an upload of the wrong file, a truncated one); dpkg-deb
 * reads the rest.
 */
export const DEB_HEAD_BYTES = 8 + 60 + 4;

const AR_MAGIC = '!<arch>\n';

/** Why `head` (the file's first DEB_HEAD_BYTES or more) is not a .deb, or undefined when it is one. */
export function debHeadProblem(head: Uint8Array): string | undefined {
  const text = Buffer.from(head.subarray(0, DEB_HEAD_BYTES)).toString('latin1');
  if (text.length < DEB_HEAD_BYTES) return 'it is too short to be a Debian package';
  if (!text.startsWith(AR_MAGIC)) return 'it is not an ar archive (no `!<arch>` header)';
  const header = text.slice(8, 68);
  // GNU ar ends member names with `/`; dpkg writes them space-padded without it. Both are valid.
  const name = header.slice(0, 16).trimEnd().replace(/\/$/, '');
  if (name !== 'debian-binary') return `its first member is "${name}", not debian-binary`;
  if (header.slice(58, 60) !== '`\n') return 'its first ar member header is malformed';
  const size = Number(header.slice(48, 58).trim());
  const version = text.slice(68, 68 + Math.min(size, 4));
  if (!Number.isInteger(size) || size < 4 || !/^2\.\d\n?$/.test(version))
    return `its debian-binary says "${version.trim()}", not format 2.x`;
  return undefined;
}

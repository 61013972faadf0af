import { ArchTableError } from './errors.ts';

/**
 * Decodes the register-file notation the kernel accepts (`\xNN` escapes mixed with literal
 * characters, as in `\x7fELF\x02`) into bytes. The kernel unescapes `\xNN` only (UNESCAPE_HEX).
 */
export function decodeEscapes(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (text[i] === '\\' && text[i + 1] === 'x') {
      const hex = text.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new ArchTableError(
          'INVALID_REGISTER_LINE',
          `Bad escape "\\x${hex}": write each byte as \\xNN.`,
        );
      }
      out.push(parseInt(hex, 16));
      i += 3;
    } else {
      if (ch > 0x7e || ch < 0x20 || text[i] === ':') {
        throw new ArchTableError(
          'INVALID_REGISTER_LINE',
          `Magic and mask may hold only printable ASCII other than ':'; write byte 0x${ch.toString(16)} as \\xNN.`,
        );
      }
      out.push(ch);
    }
  }
  return Uint8Array.from(out);
}

/** Every byte as `\xNN`: safe to put between the colons of a register line. */
export function encodeEscapes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => '\\x' + b.toString(16).padStart(2, '0')).join('');
}

/** Lower-case hex, the way the kernel prints magic and mask in an entry file. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ArchTableError('INVALID_ENTRY_FILE', `"${hex.slice(0, 40)}" is not hex bytes.`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

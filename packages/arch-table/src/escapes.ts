import { ArchTableError } from './errors.ts';

/**
 * Decodes the register-file notation the kernel accepts (`\xNN` escapes mixed with literal
 * characters, as in `\x7fELF\x02`) into bytes. The kernel unescapes `\xNN` only (UNESCAPE_HEX).
 */
export function decodeEscapes(text: string): Uint8Array {
  // Plain loops over char codes: agents decode every target's magic and mask per status call.
  const out = new Uint8Array(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === BACKSLASH && text.charCodeAt(i + 1) === LOWER_X) {
      const high = hexDigit(text.charCodeAt(i + 2));
      const low = hexDigit(text.charCodeAt(i + 3));
      if (high < 0 || low < 0) {
        throw new ArchTableError(
          'INVALID_REGISTER_LINE',
          `Bad escape "\\x${text.slice(i + 2, i + 4)}": write each byte as \\xNN.`,
        );
      }
      out[length++] = high * 16 + low;
      i += 3;
    } else {
      if (ch > 0x7e || ch < 0x20 || ch === COLON) {
        throw new ArchTableError(
          'INVALID_REGISTER_LINE',
          `Magic and mask may hold only printable ASCII other than ':'; write byte 0x${ch.toString(16)} as \\xNN.`,
        );
      }
      out[length++] = ch;
    }
  }
  return out.slice(0, length);
}

const BACKSLASH = 0x5c;
const LOWER_X = 0x78;
const COLON = 0x3a;

/** The value of a hex digit's char code (either case), or -1. */
function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Every byte as `\xNN`: safe to put between the colons of a register line. */
export function encodeEscapes(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += '\\x' + HEX_BYTES[b]!;
  return text;
}

/** Lower-case hex, the way the kernel prints magic and mask in an entry file. */
export function toHex(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += HEX_BYTES[b]!;
  return text;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ArchTableError('INVALID_ENTRY_FILE', `"${hex.slice(0, 40)}" is not hex bytes.`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

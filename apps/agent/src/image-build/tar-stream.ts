import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** One member of a build context. Files come from memory or are streamed from disk. */
export type TarEntry =
  | {
      readonly type: 'file';
      readonly name: string;
      readonly mode?: number;
      readonly data: string | Uint8Array;
    }
  | { readonly type: 'file'; readonly name: string; readonly mode?: number; readonly path: string }
  | { readonly type: 'dir'; readonly name: string; readonly mode?: number }
  | { readonly type: 'symlink'; readonly name: string; readonly target: string };

const BLOCK = 512;

/**
 * A ustar archive of `entries`, as dockerd takes a build context. Owner root, one fixed mtime for
 * every member, so that the same inputs give the same layers (and the registry stores them once).
 * Files on disk are read while the archive streams: a 400 MB context is never held in memory.
 */
export function tarStream(entries: readonly TarEntry[], mtime = 0): Readable {
  return Readable.from(generate(entries, mtime));
}

async function* generate(entries: readonly TarEntry[], mtime: number): AsyncGenerator<Uint8Array> {
  for (const entry of entries) {
    if (entry.type === 'dir') {
      yield header({
        name: entry.name.replace(/\/?$/, '/'),
        mode: entry.mode ?? 0o755,
        size: 0,
        mtime,
        type: '5',
      });
    } else if (entry.type === 'symlink') {
      yield header({ name: entry.name, mode: 0o777, size: 0, mtime, type: '2', linkname: entry.target });
    } else if ('data' in entry) {
      const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data;
      yield header({ name: entry.name, mode: entry.mode ?? 0o644, size: data.length, mtime, type: '0' });
      yield data;
      yield padding(data.length);
    } else {
      const { size } = await stat(entry.path);
      yield header({ name: entry.name, mode: entry.mode ?? 0o755, size, mtime, type: '0' });
      let sent = 0;
      for await (const chunk of createReadStream(entry.path) as AsyncIterable<Buffer>) {
        sent += chunk.length;
        if (sent > size) throw new Error(`${entry.path} grew while it was being archived.`);
        yield chunk;
      }
      if (sent !== size) throw new Error(`${entry.path} shrank while it was being archived.`);
      yield padding(size);
    }
  }
  yield new Uint8Array(BLOCK * 2);
}

const padding = (size: number) => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);

interface Header {
  readonly name: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly type: '0' | '2' | '5';
  readonly linkname?: string;
}

function header(h: Header): Uint8Array {
  const block = Buffer.alloc(BLOCK);
  const [prefix, name] = splitName(h.name);
  const put = (offset: number, length: number, text: string) => {
    if (Buffer.byteLength(text) > length) throw new Error(`tar field too long: ${text.slice(0, 80)}`);
    block.write(text, offset, length, 'utf8');
  };
  const octal = (offset: number, length: number, value: number) =>
    put(offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
  put(0, 100, name);
  octal(100, 8, h.mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, h.size);
  octal(136, 12, h.mtime);
  put(148, 8, ' '.repeat(8));
  put(156, 1, h.type);
  put(157, 100, h.linkname ?? '');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  put(265, 32, 'root');
  put(297, 32, 'root');
  put(345, 155, prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return block;
}

/** ustar keeps up to 100 bytes of name and 155 of directory prefix. */
function splitName(path: string): [string, string] {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  const cut = path.lastIndexOf('/', path.length - 2);
  const prefix = path.slice(0, cut);
  const name = path.slice(cut + 1);
  if (cut <= 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(name) > 100) {
    throw new Error(`path too long for a tar archive: ${path.slice(0, 80)}…`);
  }
  return [prefix, name];
}

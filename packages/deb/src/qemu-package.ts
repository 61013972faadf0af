import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { TARGET_IDS, targetOfDebianArch, type TargetId } from '@binfleet/arch-table';
import { DebError } from './errors.ts';

const run = promisify(execFile);

/** A QEMU user-mode package as a build takes it, e.g. Debian's qemu-user-static .deb. */
export interface QemuPackage {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  /** Control fields. */
  readonly name: string;
  readonly version: string;
  /** Debian architecture of the package (amd64, arm64...): the host its emulators run on. */
  readonly architecture: string;
  /** The same as a QEMU target: the `$from` of the tags. */
  readonly fromArch: TargetId;
  /** The upstream part of the Debian version (7.2 for 1:7.2+dfsg-7+deb12u18). */
  readonly upstreamVersion: string;
  /** Every usr/bin/qemu-*-static file in it, by file name. */
  readonly emulators: readonly string[];
  /** The emulators that are targets of the arch table (qemu-<target>-static), in the table's order. */
  readonly targets: readonly TargetId[];
}

/**
 * Bounds on what a package may unpack to, checked from its listing before anything is unpacked, and on
 * how long dpkg-deb may take reading or unpacking it (Debian's qemu-user-static: ~60 MB, ~40 files,
 * ~500 MB unpacked).
 */
export const UNPACK_LIMITS = { maxBytes: 2 * 1024 ** 3, maxFiles: 5_000, timeoutMs: 120_000 } as const;

/** Where a target's emulator is in the package and in the images (the seed's /usr/bin/qemu-$to-static). */
export const emulatorPath = (target: TargetId) => `/usr/bin/qemu-${target}-static`;

/** Reads a .deb with dpkg-deb (which handles every compression Debian uses) and hashes it. */
export async function readQemuPackage(path: string): Promise<QemuPackage> {
  const size = await packageSize(path);
  const [fields, listing, sha256] = await Promise.all([
    controlFieldsOf(path),
    dpkgDeb(['-c', path], path),
    sha256Of(path),
  ]);
  return describePackage({ path, size, sha256, control: parseControlFields(fields), listing });
}

/**
 * readQemuPackage for a process that reads the same packages again (a builder agent: re-runs, rebuilds,
 * one package per host in every build): it hashes first and lists (`dpkg-deb -c`, which decompresses
 * the whole data archive: ~8 s for Debian 12's arm64 qemu-user-static on a 2-core VM) only a package
 * whose sha256 it has not listed before. It keeps the listings of the last `keep` packages (a few KB each).
 */
export function rememberingQemuPackageReader(keep = 16): (path: string) => Promise<QemuPackage> {
  const listings = new Map<string, string>();
  return async (path) => {
    const size = await packageSize(path);
    const [fields, sha256] = await Promise.all([controlFieldsOf(path), sha256Of(path)]);
    let listing = listings.get(sha256);
    if (listing === undefined) listing = await dpkgDeb(['-c', path], path);
    // Most recently read last: the first key is the one to forget.
    listings.delete(sha256);
    listings.set(sha256, listing);
    if (listings.size > keep) listings.delete(listings.keys().next().value!);
    return describePackage({ path, size, sha256, control: parseControlFields(fields), listing });
  };
}

/** The control fields a package is described by, as `dpkg-deb -f` prints them. */
const controlFieldsOf = (path: string) => dpkgDeb(['-f', path, 'Package', 'Version', 'Architecture'], path);

async function packageSize(path: string): Promise<number> {
  const size = await stat(path).then(
    (s) => (s.isFile() ? s.size : undefined),
    () => undefined,
  );
  if (size === undefined)
    throw new DebError(
      'INVALID_PACKAGE',
      `No package file at ${path}: give the path of a .deb on the builder host.`,
    );
  return size;
}

/** Unpacks the package's files under `dir` (dpkg-deb -x). */
export async function extractPackage(path: string, dir: string): Promise<void> {
  await dpkgDeb(['-x', path, dir], path);
}

export function describePackage(input: {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly control: Readonly<Record<string, string>>;
  readonly listing: string;
}): QemuPackage {
  const { control, path } = input;
  const name = control.Package;
  const version = control.Version;
  const architecture = control.Architecture;
  if (!name || !version || !architecture) {
    throw new DebError(
      'INVALID_PACKAGE',
      `${path} has no Package, Version or Architecture control field: give a Debian binary package (.deb).`,
    );
  }
  const fromArch = targetOfDebianArch(architecture);
  if (!fromArch) {
    throw new DebError(
      'INVALID_PACKAGE',
      `${path} is for architecture "${architecture}", which is no QEMU target host: give the package built for the host the images are for (amd64, arm64, ppc64el, s390x...).`,
    );
  }
  const unpacked = unpackedSizeOf(input.listing);
  if (unpacked.files > UNPACK_LIMITS.maxFiles || unpacked.bytes > UNPACK_LIMITS.maxBytes) {
    // INVALID_PACKAGE, not TOO_LARGE: that one is the upload limit, and callers say so.
    throw new DebError(
      'INVALID_PACKAGE',
      `${path} unpacks to ${unpacked.files} files and ${unpacked.bytes} bytes, more than ${UNPACK_LIMITS.maxFiles} files or ${UNPACK_LIMITS.maxBytes} bytes: give a qemu-user-static package.`,
    );
  }
  const emulators = emulatorsInListing(input.listing);
  const found = new Set(emulators.map((file) => /^qemu-(.+)-static$/.exec(file)![1]!));
  const targets = TARGET_IDS.filter((id) => found.has(id));
  if (targets.length === 0) {
    throw new DebError(
      'INVALID_PACKAGE',
      `${path} (${name} ${version}) has no usr/bin/qemu-<target>-static emulator: give a qemu-user-static package.`,
    );
  }
  return {
    path,
    sha256: input.sha256,
    size: input.size,
    name,
    version,
    architecture,
    fromArch,
    upstreamVersion: upstreamVersionOf(version),
    emulators,
    targets,
  };
}

/** `Field: value` lines, as `dpkg-deb -f` prints them (continuation lines are not needed here). */
export function parseControlFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) fields[m[1]!] = m[2]!.trim();
  }
  return fields;
}

/** Regular files usr/bin/qemu-*-static in a `dpkg-deb -c` (tar -tv) listing, by file name. */
export function emulatorsInListing(listing: string): string[] {
  const names = new Set<string>();
  for (const line of listing.split('\n')) {
    const m = /^-\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\.?\/?usr\/bin\/(qemu-[A-Za-z0-9_]+-static)$/.exec(
      line.trim(),
    );
    if (m) names.add(m[1]!);
  }
  return [...names].sort();
}

/** Debian's epoch:upstream-revision -> upstream, without repack suffixes (+dfsg, +ds, ~rc). */
export function upstreamVersionOf(version: string): string {
  const noEpoch = version.replace(/^\d+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  const upstream = dash > 0 ? noEpoch.slice(0, dash) : noEpoch;
  return upstream.replace(/[+~](dfsg|ds|repack)[^-]*$/i, '');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Files and bytes of a `dpkg-deb -c` listing (`-rw-r--r-- root/root  5234 2023-01-01 00:00 ./path`). */
export function unpackedSizeOf(listing: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const line of listing.split('\n')) {
    const size = /^\S+\s+\S+\s+(\d+)\s/.exec(line)?.[1];
    if (size === undefined) continue;
    files++;
    bytes += Number(size);
  }
  return { files, bytes };
}

async function dpkgDeb(args: string[], path: string): Promise<string> {
  try {
    const { stdout } = await run('dpkg-deb', args, {
      maxBuffer: 16 * 1024 * 1024,
      timeout: UNPACK_LIMITS.timeoutMs,
      killSignal: 'SIGKILL',
    });
    return stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    if (e.killed) {
      throw new DebError(
        'INVALID_PACKAGE',
        `dpkg-deb took more than ${UNPACK_LIMITS.timeoutMs / 1000} s on ${path} and was stopped: give a qemu-user-static package.`,
      );
    }
    if (e.code === 'ENOENT') {
      throw new DebError(
        'INVALID_PACKAGE',
        'dpkg-deb is not installed on this builder: install dpkg (it reads and unpacks .deb packages).',
      );
    }
    throw new DebError(
      'INVALID_PACKAGE',
      `${path} is not a readable .deb (${(e.stderr ?? e.message).trim().split('\n')[0]}): give a Debian binary package.`,
    );
  }
}

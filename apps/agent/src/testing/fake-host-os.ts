import { decodeEscapes, getTarget, type TargetId } from '@binfleet/arch-table';
import type { FileFacts, HostOs, ProcessResult, RunOptions } from '../adapters/host-os.ts';

/** The start of an ELF file the target's own magic accepts: the magic bytes themselves, padded. */
export function fakeElfOf(target: TargetId): Uint8Array {
  const head = new Uint8Array(64);
  head.set(decodeEscapes(getTarget(target).magic));
  return head;
}

export interface FakeFile {
  readonly content?: Uint8Array | string;
  readonly mode?: number;
  readonly isFile?: boolean;
  readonly mtimeMs?: number;
}

/** A host for unit tests: files in a map, programs as functions; records every run. */
export class FakeHostOs implements HostOs {
  readonly files = new Map<string, FakeFile>();
  readonly programs = new Map<string, (args: readonly string[]) => Promise<ProcessResult> | ProcessResult>();
  readonly runs: { path: string; args: readonly string[] }[] = [];

  constructor(
    private readonly identity: {
      hostname?: string;
      machine?: string;
      kernelRelease?: string;
      /** Default: /bin/sh, a fake ELF of the machine (x86_64) when no file is put there. */
      ownExecutables?: readonly string[];
    } = {},
  ) {
    this.files.set('/bin/sh', {
      content: fakeElfOf(this.identity.machine === 'aarch64' ? 'aarch64' : 'x86_64'),
    });
  }

  hostname = () => this.identity.hostname ?? 'fake-host';
  machine = () => this.identity.machine ?? 'x86_64';
  kernelRelease = () => this.identity.kernelRelease ?? '6.18.0';
  ownExecutables = () => this.identity.ownExecutables ?? ['/bin/sh'];

  async readText(path: string): Promise<string | undefined> {
    const content = this.files.get(path)?.content;
    return typeof content === 'string' ? content : content && Buffer.from(content).toString('utf8');
  }

  async fileFacts(path: string): Promise<FileFacts | undefined> {
    const file = this.files.get(path);
    if (!file) return undefined;
    return {
      isFile: file.isFile ?? true,
      mode: file.mode ?? 0o755,
      mtimeMs: file.mtimeMs ?? 1,
      size: typeof file.content === 'string' ? file.content.length : (file.content?.length ?? 0),
    };
  }

  /** Symlinks: path -> the path it resolves to. */
  readonly links = new Map<string, string>();

  realPath(path: string): string | undefined {
    return this.links.get(path) ?? (this.files.has(path) ? path : undefined);
  }

  /** Whether watchDirectories works here (off: as a host where directories cannot be watched). */
  watchable = false;
  /** The directories watched now, each with its watchers. */
  readonly watched = new Map<string, Set<() => void>>();

  watchDirectories(directories: readonly string[], onChange: () => void): (() => void) | undefined {
    if (!this.watchable) return undefined;
    for (const d of directories) {
      if (!this.watched.has(d)) this.watched.set(d, new Set());
      this.watched.get(d)!.add(onChange);
    }
    return () => {
      for (const d of directories) {
        this.watched.get(d)?.delete(onChange);
        if (this.watched.get(d)?.size === 0) this.watched.delete(d);
      }
    };
  }

  /** Something changed in `directory`: its watchers are told. */
  changedIn(directory: string): void {
    for (const onChange of this.watched.get(directory) ?? []) onChange();
  }

  async readHead(path: string, bytes: number): Promise<Uint8Array | undefined> {
    const content = this.files.get(path)?.content;
    if (content === undefined) return undefined;
    return (typeof content === 'string' ? new TextEncoder().encode(content) : content).subarray(0, bytes);
  }

  /** Every runEach call: what it ran, and whether in the background. */
  readonly batches: { readonly paths: readonly string[]; readonly background: boolean }[] = [];

  async run(path: string, args: readonly string[]): Promise<ProcessResult> {
    this.runs.push({ path, args });
    const program = this.programs.get(path);
    if (!program) return { stdout: '', stderr: '', timedOut: false, spawnError: 'ENOENT' };
    return program(args);
  }

  /** Each program in turn, recorded as runs (the real one starts one shell for all of them). */
  async runEach(
    paths: readonly string[],
    args: readonly string[],
    _timeoutMs?: number,
    options: RunOptions = {},
  ): Promise<ProcessResult[]> {
    this.batches.push({ paths, background: options.background ?? false });
    const results: ProcessResult[] = [];
    for (const path of paths) results.push(await this.run(path, args));
    return results;
  }
}

/** A host for services' unit tests: every emulator exists, its own programs are x86_64. */
export const hostWithEmulators = {
  interpreterExists: async () => true,
  hostExecutables: async () => [{ path: '/bin/sh', header: fakeElfOf('x86_64') }],
};

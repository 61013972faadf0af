import { dirname, resolve } from 'node:path';
import { TARGET_IDS, targetRegisterSpec, type TargetId } from '@binfleet/arch-table';
import type { HostExecutable } from '@binfleet/arch-table';
import type { FileFacts, HostOs, ProcessResult, RunOptions } from '../adapters/host-os.ts';
import { parseQemuVersion, type QemuVersion } from './qemu-version.ts';

export interface HostFacts {
  readonly hostname: string;
  /** `uname -m`. */
  readonly machine: string;
  readonly kernelRelease: string;
  /** This process runs in a user namespace other than the initial one (rootless, userns-remapped container). */
  readonly inUserNamespace: boolean;
  /**
   * Registrations made here stay in this user namespace and do not affect the host: since Linux 6.7
   * every user namespace can mount its own binfmt_misc, where a write "succeeds" without effect outside.
   */
  readonly binfmtNamespaced: boolean;
}

export interface InterpreterInfo {
  readonly target: TargetId;
  readonly path: string;
  readonly version?: string;
  readonly package?: string;
  /** Why no version was read although the emulator exists (it failed, hung, or is not QEMU). */
  readonly error?: string;
}

export interface InterpreterLocation {
  /** Directory of the emulators, e.g. /usr/bin. */
  readonly interpreterDir: string;
  /** Appended to `qemu-<cpu>`, e.g. -static. */
  readonly suffix?: string;
}

export interface HostProbeOptions {
  /** How long one emulator's `--version` may take. */
  readonly versionTimeoutMs?: number;
  /** The clock a failed `--version` is dated by (tests). */
  readonly now?: () => number;
}

type VersionResult =
  { readonly ok: true; readonly version: QemuVersion } | { readonly ok: false; readonly error: string };

interface KeptVersion {
  readonly stamp: string;
  readonly result: Promise<VersionResult>;
  settled?: VersionResult;
  settledAt?: number;
  /** While a failure is asked again: that failure, shown until the new run ends. */
  readonly previous?: VersionResult;
}

/** A `--version` that failed is run again once its failure is this old. */
const VERSION_RETRY_MS = 60_000;

/** The map of the initial user namespace: every uid maps to itself. */
const INITIAL_UID_MAP = ['0', '0', '4294967295'];
const NAMESPACED_BINFMT_SINCE: readonly [number, number] = [6, 7];
/** The emulators a watch saw no change of are looked at again once this old all the same. */
const SCAN_KEPT_MS = 60_000;
/** Interpreter locations whose emulators are kept (the agent's default and a desired state's). */
const LOCATIONS_KEPT = 8;

/** An emulator found in an interpreter location, with its file's facts when it was looked at. */
interface FoundEmulator {
  readonly target: TargetId;
  readonly path: string;
  readonly facts: FileFacts;
}

/**
 * What an interpreter location holds, kept while nothing changes in the directories watched for it:
 * the location's, and those its emulators resolve into (symlinks).
 */
interface LocationScan {
  /** Each target's emulator path in the location. */
  readonly candidates: readonly { readonly target: TargetId; readonly path: string }[];
  found: Promise<readonly FoundEmulator[]>;
  /** When the files were looked at (the probe's clock). */
  readonly at: number;
  /** Watched before the files were looked at; stays until a change in one of them. */
  fresh: boolean;
  /** The directories to watch on the next look: the location's and those its emulators resolve into. */
  next: readonly string[];
  stop?: (() => void) | undefined;
}

/** Facts about this host that the fleet shows: identity, kernel, namespace, emulators and their versions. */
export class HostProbe {
  /**
   * Results of `--version` by path, valid while the file's mtime and size stay the same; `settled`
   * once the run ended.
   */
  private readonly versions = new Map<string, KeptVersion>();
  /** Told when a `--version` run brings something new (onVersionsRead). */
  private readonly versionListeners: (() => void)[] = [];
  /** The heads of the host's own programs by path, valid while the file's mtime and size stay the same. */
  private readonly heads = new Map<string, { readonly stamp: string; readonly head: Uint8Array }>();
  /**
   * Each location's emulators as last looked at, while their directories have not changed: a
   * heartbeat (every 15 s, facts and all) stats 35 files only after something there changed.
   */
  private readonly scans = new Map<string, LocationScan>();
  /** Moves whenever a `--version` run starts or ends: what interpreters() answered may have changed. */
  private versionsMoved = 0;
  /**
   * The last answer of interpreters(), the same array again while the emulators found and their
   * versions stay the same: a heartbeat then sends facts it can tell unchanged without reading them.
   */
  private lastInterpreters:
    | { readonly found: readonly FoundEmulator[]; readonly moved: number; readonly answer: InterpreterInfo[] }
    | undefined;
  /** A process never leaves its user namespace (a multi-threaded one cannot): read once. */
  private namespaced: Promise<boolean> | undefined;
  private readonly versionTimeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly os: HostOs,
    options: HostProbeOptions = {},
  ) {
    this.versionTimeoutMs = options.versionTimeoutMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  async facts(): Promise<HostFacts> {
    const kernelRelease = this.os.kernelRelease();
    const inUserNamespace = await this.inUserNamespace();
    return {
      hostname: this.os.hostname(),
      machine: this.os.machine(),
      kernelRelease,
      inUserNamespace,
      binfmtNamespaced: inUserNamespace && kernelAtLeast(kernelRelease, NAMESPACED_BINFMT_SINCE),
    };
  }

  /** An executable regular file; an arrow so it can be handed over as RegistrationService's check. */
  readonly interpreterExists = async (path: string): Promise<boolean> =>
    isExecutableFile(await this.os.fileFacts(path));

  /** The first bytes of the host's own programs that can be read (what a binfmt entry would test). */
  readonly hostExecutables = async (): Promise<HostExecutable[]> => {
    const read = await Promise.all(
      this.os.ownExecutables().map(async (path) => ({ path, header: await this.headOf(path) })),
    );
    return read.filter((e): e is HostExecutable => e.header !== undefined && e.header.length > 0);
  };

  /** Every apply checks the host's own programs: read again only when a file's mtime or size changed. */
  private async headOf(path: string): Promise<Uint8Array | undefined> {
    const facts = await this.os.fileFacts(path);
    if (facts === undefined) return undefined;
    const stamp = `${facts.mtimeMs}:${facts.size}`;
    const cached = this.heads.get(path);
    if (cached?.stamp === stamp) return cached.head;
    const head = await this.os.readHead(path, 128);
    if (head !== undefined) this.heads.set(path, { stamp, head });
    return head;
  }

  /**
   * Every target whose emulator exists in the directory, with the QEMU version it reports. With
   * `waitForVersions: false`, versions not read yet are left out (neither version nor error; a
   * failure being asked again stays shown until the new run ends): they are read in the background,
   * at the lowest CPU priority, and onVersionsRead's listeners are told when they are in. 35
   * emulators take ~120 ms of CPU to start, which an agent joining or beating need not wait for.
   */
  async interpreters(
    location: InterpreterLocation,
    options: { readonly waitForVersions?: boolean } = {},
  ): Promise<InterpreterInfo[]> {
    const wait = options.waitForVersions ?? true;
    const found = await this.emulatorsAt(location);
    const last = this.lastInterpreters;
    if (last?.found === found && last.moved === this.versionsMoved) return last.answer;
    const versions = this.versionsOf(found, { background: !wait });
    const moved = this.versionsMoved;
    const answer = await Promise.all(
      found.map(async ({ target, path }, i): Promise<InterpreterInfo> => {
        const kept = versions[i]!;
        const result = wait ? await kept.result : (kept.settled ?? kept.previous);
        if (result === undefined) return { target, path };
        return result.ok
          ? {
              target,
              path,
              version: result.version.version,
              ...(result.version.package ? { package: result.version.package } : {}),
            }
          : { target, path, error: result.error };
      }),
    );
    // Kept only with every version in: a failure is asked again after a while (versionsOf).
    if (answer.every((i) => i.version !== undefined)) this.lastInterpreters = { found, moved, answer };
    return answer;
  }

  /**
   * The executable emulators of a location: kept while the directories watched for it stay as they
   * were, and at most SCAN_KEPT_MS (changes a watch cannot see: a network file system, a link
   * changed further down its chain, a dropped event); looked at again after any change there, or
   * every time where they cannot be watched.
   */
  private emulatorsAt(location: InterpreterLocation): Promise<readonly FoundEmulator[]> {
    const suffix = location.suffix ?? '';
    const key = `${location.interpreterDir}\0${suffix}`;
    const kept = this.scans.get(key);
    if (kept?.fresh && this.now() - kept.at < SCAN_KEPT_MS) return kept.found;
    // Each target's path exactly as a registration names it, checked against the arch table once per
    // location: refused (ArchTableError) for the same bad input, which is then never kept.
    const candidates =
      kept?.candidates ??
      TARGET_IDS.map((target) => ({
        target,
        path: targetRegisterSpec(target, { interpreterDir: location.interpreterDir, suffix }).interpreter,
      }));
    kept?.stop?.();
    if (!kept && this.scans.size >= LOCATIONS_KEPT) {
      for (const scan of this.scans.values()) scan.stop?.();
      this.scans.clear();
    }
    // The location's directory, and those its emulators resolved into when last looked at.
    const directories = kept?.next ?? [resolve(location.interpreterDir)];
    const scan: LocationScan = {
      candidates,
      at: this.now(),
      fresh: true,
      next: directories,
      found: Promise.resolve([]),
    };
    // Before the files are looked at: a change from then on is seen. The first change ends it.
    scan.stop = this.os.watchDirectories(directories, () => {
      scan.fresh = false;
      scan.stop?.();
    });
    scan.found = this.look(candidates).then((found) => {
      // Emulators resolving into directories other than those watched: watched as they are from
      // the next look on.
      const resolved = found.map((e) => dirname(this.os.realPath(e.path) ?? e.path));
      scan.next = [...new Set([directories[0]!, ...resolved])];
      if (scan.next.length !== directories.length || scan.next.some((d) => !directories.includes(d)))
        scan.fresh = false;
      return found;
    });
    if (scan.stop === undefined) scan.fresh = false;
    this.scans.set(key, scan);
    return scan.found;
  }

  private async look(candidates: readonly { target: TargetId; path: string }[]): Promise<FoundEmulator[]> {
    const looked = await Promise.all(
      candidates.map(async (c) => ({ ...c, facts: await this.os.fileFacts(c.path) })),
    );
    return looked.filter((c): c is FoundEmulator => isExecutableFile(c.facts));
  }

  /**
   * `listener` runs each time a run of `--version` ends with something new (a version, or another
   * failure than before): for a heartbeat that carries it.
   */
  onVersionsRead(listener: () => void): void {
    this.versionListeners.push(listener);
  }

  private inUserNamespace(): Promise<boolean> {
    return (this.namespaced ??= this.readUserNamespace());
  }

  private async readUserNamespace(): Promise<boolean> {
    // Without /proc/self/uid_map the kernel has no user namespaces, so this is the initial one.
    const text = await this.os.readText('/proc/self/uid_map');
    if (text === undefined) return false;
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    return !(lines.length === 1 && lines[0]!.trim().split(/\s+/).join(' ') === INITIAL_UID_MAP.join(' '));
  }

  /**
   * The `--version` of each emulator: kept per path while its mtime and size stay; those not kept
   * are run together (one process started from the agent for all of them, HostOs.runEach).
   */
  private versionsOf(emulators: readonly { path: string; facts: FileFacts }[], options: RunOptions) {
    const stampOf = (facts: FileFacts) => `${facts.mtimeMs}:${facts.size}`;
    // One run per file: several targets can share an emulator (i386 and i486).
    const stale = [
      ...new Map(
        emulators
          .filter((e) => {
            const kept = this.versions.get(e.path);
            if (kept?.stamp !== stampOf(e.facts)) return true;
            // A failure may be passing (a loaded host, a timeout): asked again once it is a while old.
            return kept.settled?.ok === false && this.now() - kept.settledAt! >= VERSION_RETRY_MS;
          })
          .map((e) => [e.path, e]),
      ).values(),
    ];
    if (stale.length > 0) {
      this.versionsMoved++;
      const runs = this.os.runEach(
        stale.map((e) => e.path),
        ['--version'],
        this.versionTimeoutMs,
        options,
      );
      const news = stale.map(({ path, facts }, i) => {
        const before = this.versions.get(path);
        const stamp = stampOf(facts);
        const kept: KeptVersion = {
          stamp,
          ...(before?.stamp === stamp && before.settled ? { previous: before.settled } : {}),
          result: runs.then((r) => {
            kept.settledAt = this.now();
            return (kept.settled = this.versionFrom(path, r[i]!));
          }),
        };
        this.versions.set(path, kept);
        return kept;
      });
      // Told whoever sent facts without them meanwhile, when something is new: a failure asked again
      // that fails alike is not.
      void runs.then(() => {
        this.versionsMoved++;
        const changed = news.some((k) => JSON.stringify(k.settled) !== JSON.stringify(k.previous));
        if (changed) this.versionListeners.forEach((listener) => listener());
      });
    }
    return emulators.map((e) => this.versions.get(e.path)!);
  }

  private versionFrom(path: string, run: ProcessResult): VersionResult {
    if (run.timedOut)
      return { ok: false, error: `${path} --version did not finish within ${this.versionTimeoutMs} ms` };
    if (run.spawnError) return { ok: false, error: `${path} could not be started (${run.spawnError})` };
    const version = parseQemuVersion(run.stdout);
    if (run.exitCode === 0 && version) return { ok: true, version };
    return {
      ok: false,
      error: `${path} --version did not print a QEMU version (exit ${run.exitCode ?? 'by signal'})`,
    };
  }
}

function isExecutableFile(facts: FileFacts | undefined): facts is FileFacts {
  return facts !== undefined && facts.isFile && (facts.mode & 0o111) !== 0;
}

function kernelAtLeast(release: string, [major, minor]: readonly [number, number]): boolean {
  const match = /^(\d+)\.(\d+)/.exec(release);
  if (!match) return false;
  const [have, haveMinor] = [Number(match[1]), Number(match[2])];
  return have > major || (have === major && haveMinor >= minor);
}

import {
  isEntryName,
  parseEntryFile,
  TARGET_IDS,
  isTargetId,
  type KernelEntry,
  type TargetId,
} from '@binfleet/arch-table';
import type { DesiredState } from '@binfleet/agent-contract';
import type { BinfmtFs } from '../adapters/binfmt-fs.ts';
import { AgentError } from '../errors.ts';
import { guardRegistration, type GuardHost } from './registration-guard.ts';
import {
  describeConflicts,
  entryNameOf,
  isResetName,
  planApply,
  planReset,
  type ApplyOptions,
  type PlannedAction,
} from './registration-plan.ts';

export interface EntryStatus {
  readonly name: string;
  /** The QEMU target this entry is for, when it is one of ours (qemu-<target>). */
  readonly target?: TargetId;
  readonly entry: KernelEntry;
}

export interface BinfmtStatus {
  readonly mountPoint: string;
  readonly mounted: boolean;
  readonly writable: boolean;
  /** The global switch in `status`. */
  readonly enabled: boolean;
  readonly entries: readonly EntryStatus[];
}

export interface ApplyResult {
  readonly actions: readonly PlannedAction[];
  readonly changed: boolean;
  readonly entries: readonly EntryStatus[];
  /** What the caller should show: the C flag's risk, a forced native target, missing emulators. */
  readonly warnings: readonly string[];
}

/** Entry texts kept parsed (RegistrationService.entryStatus). */
const PARSED_KEPT = 1024;

interface KernelToPlan {
  readonly names: readonly string[];
  readonly entries: readonly EntryStatus[];
}

export interface RegistrationOptions {
  /** Mount binfmt_misc when it is not, as the seed does (default true). */
  readonly autoMount?: boolean;
  /** Audit lines (a forced native target): the CLI prints them, `serve` logs them. */
  readonly audit?: (record: Record<string, unknown>) => void;
}

/**
 * Desired state vs the kernel's: reads entries, plans, refuses bad plans before writing anything,
 * then writes one change at a time through BinfmtFs.
 */
export class RegistrationService {
  constructor(
    private readonly fs: BinfmtFs,
    private readonly host: GuardHost,
    private readonly options: RegistrationOptions = {},
  ) {}

  async status(): Promise<BinfmtStatus> {
    const mounted = await this.fs.isMounted();
    if (!mounted)
      return { mountPoint: this.fs.mountPoint, mounted, writable: false, enabled: false, entries: [] };
    return {
      mountPoint: this.fs.mountPoint,
      mounted,
      writable: await this.fs.isWritable(),
      enabled: await this.fs.isEnabled(),
      entries: await this.entries(),
    };
  }

  /** The kernel's entries (of `names` only, when given; one gone meanwhile is left out). */
  async entries(names?: readonly string[]): Promise<EntryStatus[]> {
    const out: EntryStatus[] = [];
    for (const name of names ?? (await this.fs.list())) {
      const text = await this.fs.read(name);
      if (text === undefined) continue;
      out.push(this.entryStatus(name, text));
    }
    return out;
  }

  /**
   * An entry file's text as an EntryStatus, the same object as last time while the text is the same:
   * every apply reads back what it wrote, and most write what was there before.
   */
  private entryStatus(name: string, text: string): EntryStatus {
    const kept = this.parsed.get(name);
    if (kept?.text === text) return kept.status;
    const target = name.startsWith('qemu-') ? name.slice(5) : undefined;
    const status: EntryStatus = {
      name,
      ...(target && isTargetId(target) ? { target } : {}),
      entry: parseEntryFile(name, text),
    };
    // Bounded by the names a kernel holds; a kernel that churns through many more starts over.
    if (this.parsed.size >= PARSED_KEPT) this.parsed.clear();
    this.parsed.set(name, { text, status });
    return status;
  }

  private readonly parsed = new Map<string, { readonly text: string; readonly status: EntryStatus }>();

  /**
   * Apply a desired state: idempotent, all-or-nothing for conflicts and for every guard
   * (registration-guard.ts): a refused apply leaves the kernel as it was.
   */
  async apply(desired: DesiredState, options: ApplyOptions = {}): Promise<ApplyResult> {
    await this.ensureMounted();
    const { actions, verdict } = await this.checkedPlan(desired, options, await this.kernelToPlan(options));
    for (const f of verdict.forcedNative) {
      this.options.audit?.({
        event: 'audit',
        level: 'warn',
        action: 'force-native',
        target: f.target,
        matches: f.other,
        mountPoint: this.fs.mountPoint,
        message: f.message,
      });
    }
    await this.execute(actions);
    return applyResult(actions, await this.entries(), verdict.warnings);
  }

  /**
   * What apply would answer, with everything it does before writing (the kernel read, the plan, the
   * guard's checks) and nothing after: no write, no mount (undefined when binfmt_misc is not
   * mounted). Refusals throw as apply's do.
   */
  async rehearse(desired: DesiredState, options: ApplyOptions = {}): Promise<ApplyResult | undefined> {
    if (!(await this.fs.isMounted())) return undefined;
    // Its answer shows every entry as it is now, those a reset removes included.
    const entries = await this.entries();
    const { actions, verdict } = await this.checkedPlan(desired, options, {
      names: entries.map((e) => e.name),
      entries,
    });
    return applyResult(actions, entries, verdict.warnings);
  }

  /**
   * What a plan needs of the kernel: every entry's name, and the entries it looks at. With reset,
   * the qemu-* ones go whatever they hold, so only the others are read.
   */
  private async kernelToPlan(options: ApplyOptions): Promise<KernelToPlan> {
    if (!options.reset) {
      const entries = await this.entries();
      return { names: entries.map((e) => e.name), entries };
    }
    const names = await this.fs.list();
    // Refused before anything is written, as reading it would have been: a name binfleet does not
    // handle, found half-way through the removals, would leave the reset half done.
    const odd = names.find((n) => isResetName(n) && !isEntryName(n));
    if (odd !== undefined)
      throw new AgentError(
        'INVALID_INPUT',
        `"${odd.slice(0, 64)}" is not a binfmt_misc entry name binfleet handles: remove it by hand (echo -1 > ${this.fs.mountPoint}/<name>).`,
      );
    return { names, entries: await this.entries(names.filter((n) => !isResetName(n))) };
  }

  /** The plan for `desired` over the kernel's entries, refused whole when it conflicts or a guard says no. */
  private async checkedPlan(desired: DesiredState, options: ApplyOptions, kernel: KernelToPlan) {
    const current = new Map(kernel.entries.map((e) => [e.name, e.entry]));
    const plan = options.reset
      ? planReset(kernel.names, current, desired, options)
      : planApply(current, desired, options);
    if (plan.conflicts.length > 0) {
      throw new AgentError(
        'ENTRY_CONFLICT',
        `Some entries are registered with other settings (use --reset or --force to replace them):\n${describeConflicts(plan.conflicts)}`,
        { conflicts: plan.conflicts },
      );
    }
    const verdict = await guardRegistration(this.host, desired, plan.actions, [...current.values()], options);
    return { actions: plan.actions, verdict };
  }

  /** Removes the entries of the given targets (absent ones are skipped, not an error). */
  async remove(targets: readonly TargetId[] | 'all'): Promise<string[]> {
    await this.requireMounted();
    const ids = targets === 'all' ? TARGET_IDS : targets;
    const present = new Set(await this.fs.list());
    const removed: string[] = [];
    for (const target of ids) {
      const name = entryNameOf(target);
      if (!present.has(name)) continue;
      await this.fs.remove(name);
      removed.push(name);
    }
    return removed;
  }

  async setEnabled(targets: readonly TargetId[], enabled: boolean): Promise<string[]> {
    await this.requireMounted();
    const present = new Set(await this.fs.list());
    const missing = targets.map(entryNameOf).filter((n) => !present.has(n));
    if (missing.length > 0) {
      throw new AgentError(
        'ENTRY_NOT_FOUND',
        `Not registered: ${missing.join(', ')}. Register them first (binfleet-agent register).`,
      );
    }
    for (const target of targets) await this.fs.setEnabled(entryNameOf(target), enabled);
    return targets.map(entryNameOf);
  }

  private async ensureMounted(): Promise<void> {
    if (await this.fs.isMounted()) return;
    if (this.options.autoMount === false) await this.requireMounted();
    await this.fs.mount();
  }

  private async requireMounted(): Promise<void> {
    if (!(await this.fs.isMounted())) {
      throw new AgentError(
        'NOT_MOUNTED',
        `binfmt_misc is not mounted at ${this.fs.mountPoint}: mount it (mount -t binfmt_misc binfmt_misc ${this.fs.mountPoint}) or run \`binfleet-agent register\`, which mounts it.`,
      );
    }
  }

  private execute(actions: readonly PlannedAction[]): Promise<void> {
    return this.fs.batched(() => this.executeEach(actions));
  }

  private async executeEach(actions: readonly PlannedAction[]): Promise<void> {
    for (const action of actions) {
      switch (action.kind) {
        case 'remove':
          await this.fs.remove(action.name).catch((error: unknown) => {
            // A reset plans from names alone: an entry gone since (someone else removed it) is what it wanted.
            if (!(
              action.reason === 'reset' &&
              error instanceof AgentError &&
              error.code === 'ENTRY_NOT_FOUND'
            ))
              throw error;
          });
          break;
        case 'register':
          await this.fs.register(action.line);
          break;
        case 'enable':
        case 'disable':
          await this.fs.setEnabled(action.name, action.kind === 'enable');
          break;
        case 'unchanged':
          break;
      }
    }
  }
}

const applyResult = (
  actions: readonly PlannedAction[],
  entries: readonly EntryStatus[],
  warnings: readonly string[],
): ApplyResult => ({ actions, changed: actions.some((a) => a.kind !== 'unchanged'), entries, warnings });

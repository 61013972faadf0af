import {
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
  planApply,
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

  async entries(): Promise<EntryStatus[]> {
    const out: EntryStatus[] = [];
    for (const name of await this.fs.list()) {
      const text = await this.fs.read(name);
      if (text === undefined) continue;
      const target = name.startsWith('qemu-') ? name.slice(5) : undefined;
      out.push({
        name,
        ...(target && isTargetId(target) ? { target } : {}),
        entry: parseEntryFile(name, text),
      });
    }
    return out;
  }

  /**
   * Apply a desired state: idempotent, all-or-nothing for conflicts and for every guard
   * (registration-guard.ts): a refused apply leaves the kernel as it was.
   */
  async apply(desired: DesiredState, options: ApplyOptions = {}): Promise<ApplyResult> {
    await this.ensureMounted();
    const { actions, verdict } = await this.checkedPlan(desired, options);
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
    const { actions, verdict, entries } = await this.checkedPlan(desired, options);
    return applyResult(actions, entries, verdict.warnings);
  }

  /** The plan for `desired` over the kernel's entries, refused whole when it conflicts or a guard says no. */
  private async checkedPlan(desired: DesiredState, options: ApplyOptions) {
    const entries = await this.entries();
    const current = new Map(entries.map((e) => [e.name, e.entry]));
    const plan = planApply(current, desired, options);
    if (plan.conflicts.length > 0) {
      throw new AgentError(
        'ENTRY_CONFLICT',
        `Some entries are registered with other settings (use --reset or --force to replace them):\n${describeConflicts(plan.conflicts)}`,
        { conflicts: plan.conflicts },
      );
    }
    const verdict = await guardRegistration(this.host, desired, plan.actions, [...current.values()], options);
    return { actions: plan.actions, verdict, entries };
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

  private async execute(actions: readonly PlannedAction[]): Promise<void> {
    for (const action of actions) {
      switch (action.kind) {
        case 'remove':
          await this.fs.remove(action.name);
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

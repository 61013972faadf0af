import type { TargetId } from '@binfleet/arch-table';
import type { ActionRecord, DesiredState } from '@binfleet/agent-contract';
import { AgentError, isAgentError } from '../errors.ts';
import type { OperationLock } from './operation-lock.ts';
import { actionRecord } from './action-record.ts';
import { isNoop, planApply } from './registration-plan.ts';
import type { RegistrationService } from './registration-service.ts';

/** One structured log record; the caller turns it into one JSON line. */
export type LogRecord = Record<string, unknown>;

export interface ReconcilerOptions {
  readonly intervalMs: number;
  /** Upper bound of the backoff after failures (whole passes or single entries). */
  readonly maxBackoffMs?: number;
  readonly log: (record: LogRecord) => void;
  readonly now?: () => Date;
}

export interface ChangeRecord {
  readonly target: TargetId;
  readonly actions: readonly ActionRecord[];
}

export interface FailingTarget {
  readonly target: TargetId;
  readonly attempts: number;
  readonly code: string;
  readonly message: string;
  readonly nextAttemptAt: string;
}

export type PassOutcome =
  | { readonly kind: 'no-desired-state' | 'in-sync' | 'busy' }
  | {
      readonly kind: 'converged';
      readonly changed: readonly ChangeRecord[];
      readonly failed: readonly FailingTarget[];
      readonly deferred: readonly TargetId[];
    }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string };

export interface ReconcilerStatus {
  readonly intervalMs: number;
  readonly lastRunAt?: string;
  readonly lastOutcome?: PassOutcome['kind'];
  /**
   * Why the reconciler last failed (a whole pass, or entries the kernel rejected), kept until a pass
   * succeeds: a busy pass, or one that only defers a failing entry, proves nothing.
   */
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
  readonly nextRunAt?: string;
  /** Entries the kernel keeps rejecting: retried with backoff, never in a tight loop. */
  readonly failing: readonly FailingTarget[];
}

export interface DesiredStateSource {
  readDesired(): Promise<DesiredState | undefined>;
}

const DEFAULT_MAX_BACKOFF_MS = 60 * 60 * 1000;

/**
 * Keeps the kernel at the desired state without anyone acting: at start (after a reboot the
 * kernel is empty) and on a timer. It only writes when the kernel differs (an equal kernel costs
 * a read and nothing else, so it never flaps), replaces drifted entries (force) but never resets,
 * so entries it does not own stay. Each target is applied on its own: one the kernel keeps
 * rejecting is reported and retried with exponential backoff while the others converge.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PassOutcome> | undefined;
  private stopped = true;
  private passFailures = 0;
  private readonly targetFailures = new Map<
    TargetId,
    { attempts: number; code: string; message: string; nextAttemptAt: Date }
  >();
  private lastDesired: string | undefined;
  private last: { at: Date; outcome: PassOutcome } | undefined;
  private lastError: { code: string; message: string; at: Date } | undefined;
  private nextRunAt: Date | undefined;
  private readonly now: () => Date;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly registration: RegistrationService,
    private readonly desired: DesiredStateSource,
    private readonly lock: OperationLock,
    private readonly options: ReconcilerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  }

  /** Runs a pass now, then keeps running them. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.nextRunAt = undefined;
    await this.running;
  }

  status(): ReconcilerStatus {
    return {
      intervalMs: this.options.intervalMs,
      ...(this.last ? { lastRunAt: this.last.at.toISOString(), lastOutcome: this.last.outcome.kind } : {}),
      ...(this.lastError ? { lastError: { ...this.lastError, at: this.lastError.at.toISOString() } } : {}),
      ...(this.nextRunAt ? { nextRunAt: this.nextRunAt.toISOString() } : {}),
      failing: this.failingTargets(),
    };
  }

  /** One pass; passes never overlap (a second caller gets the first one's result). */
  reconcileOnce(): Promise<PassOutcome> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.nextRunAt = new Date(this.now().getTime() + delayMs);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    // The agent's server keeps the process alive; the timer alone must not delay its exit.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const outcome = await this.reconcileOnce();
    const backoff = outcome.kind === 'failed' ? this.backoff(this.passFailures) : this.options.intervalMs;
    this.schedule(backoff);
  }

  private async pass(): Promise<PassOutcome> {
    let outcome: PassOutcome;
    try {
      // Read first so that an agent nobody has given a state never takes the host's lock, and again
      // under the lock: a change through the API (which holds it while it changes the kernel and the
      // state) may have landed meanwhile, and the older state must not undo it.
      outcome = (await this.desired.readDesired())
        ? await this.lock.run(
            'reconcile',
            async () => {
              const desired = await this.desired.readDesired();
              return desired ? this.converge(desired) : { kind: 'no-desired-state' as const };
            },
            { waitMs: 0 },
          )
        : { kind: 'no-desired-state' };
    } catch (error) {
      outcome =
        isAgentError(error) && error.code === 'BUSY'
          ? { kind: 'busy' }
          : { kind: 'failed', ...describe(error) };
    }
    if (outcome.kind === 'failed') {
      this.passFailures++;
      this.options.log({
        event: 'reconcile',
        level: 'warn',
        outcome: 'failed',
        code: outcome.code,
        message: outcome.message,
        attempts: this.passFailures,
      });
    } else if (outcome.kind !== 'busy') {
      this.passFailures = 0;
    }
    if (outcome.kind === 'converged' && (outcome.changed.length > 0 || outcome.failed.length > 0)) {
      const { changed, failed, deferred } = outcome;
      this.options.log({
        event: 'reconcile',
        level: failed.length ? 'warn' : 'info',
        outcome: failed.length ? 'partial' : 'changed',
        changed,
        failed,
        deferred,
      });
    }
    this.last = { at: this.now(), outcome };
    this.noteError(outcome, this.last.at);
    return outcome;
  }

  private async converge(desired: DesiredState): Promise<PassOutcome> {
    this.forgetFailuresIfDesiredChanged(desired);
    const status = await this.registration.status();
    const plan = planApply(new Map(status.entries.map((e) => [e.name, e.entry])), desired, { force: true });
    if (isNoop(plan)) {
      this.targetFailures.clear();
      return { kind: 'in-sync' };
    }
    const drifted = [
      ...new Set(
        plan.actions.flatMap((a) => (a.kind === 'unchanged' || a.kind === 'remove' ? [] : [a.target])),
      ),
    ];
    const changed: ChangeRecord[] = [];
    const failed: FailingTarget[] = [];
    const deferred: TargetId[] = [];
    for (const target of drifted) {
      const failure = this.targetFailures.get(target);
      if (failure && failure.nextAttemptAt > this.now()) {
        deferred.push(target);
        continue;
      }
      try {
        const result = await this.registration.apply({ ...desired, targets: [target] }, { force: true });
        this.targetFailures.delete(target);
        const actions = result.actions.filter((a) => a.kind !== 'unchanged').map(actionRecord);
        if (actions.length > 0) changed.push({ target, actions });
      } catch (error) {
        const attempts = (failure?.attempts ?? 0) + 1;
        const next = {
          attempts,
          ...describe(error),
          nextAttemptAt: new Date(this.now().getTime() + this.backoff(attempts)),
        };
        this.targetFailures.set(target, next);
        failed.push({ target, ...next, nextAttemptAt: next.nextAttemptAt.toISOString() });
      }
    }
    return { kind: 'converged', changed, failed, deferred };
  }

  private noteError(outcome: PassOutcome, at: Date): void {
    if (outcome.kind === 'failed') {
      this.lastError = { code: outcome.code, message: outcome.message, at };
    } else if (outcome.kind === 'converged' && outcome.failed.length > 0) {
      const [first] = outcome.failed;
      this.lastError = {
        code: first!.code,
        message: outcome.failed.map((f) => `${f.target}: ${f.message}`).join('; '),
        at,
      };
    } else if (outcome.kind !== 'busy' && this.targetFailures.size === 0) {
      this.lastError = undefined;
    }
  }

  /** A newly applied desired state deserves a fresh attempt at every entry. */
  private forgetFailuresIfDesiredChanged(desired: DesiredState): void {
    const key = JSON.stringify(desired);
    if (key !== this.lastDesired) this.targetFailures.clear();
    this.lastDesired = key;
  }

  /** interval x 2^attempts, capped: 2, 4, 8... intervals after 1, 2, 3 failures. */
  private backoff(attempts: number): number {
    return Math.min(this.options.intervalMs * 2 ** Math.min(attempts, 30), this.maxBackoffMs);
  }

  private failingTargets(): FailingTarget[] {
    return [...this.targetFailures].map(([target, f]) => ({
      target,
      ...f,
      nextAttemptAt: f.nextAttemptAt.toISOString(),
    }));
  }
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof AgentError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

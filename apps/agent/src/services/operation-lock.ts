import { AgentError } from '../errors.ts';
import type { HostLock } from '../adapters/host-lock.ts';

export interface LockHolder {
  readonly label: string;
  readonly startedAt: Date;
}

interface Waiter {
  readonly label: string;
  readonly grant: () => void;
  readonly timer: NodeJS.Timeout;
}

/** How long a caller that would not wait waits anyway for a lock that is only being let go. */
const LETTING_GO_WAIT_MS = 5_000;

/**
 * One operation at a time on this host: a reset running while another apply removes entries
 * would leave the kernel in a state nobody asked for. Callers queue in arrival order; one that
 * cannot get its turn within `waitMs` gets a BUSY error naming what is running. With a HostLock,
 * the turn also waits (within the same `waitMs`) for other processes on the same binfmt_misc, such
 * as a `binfleet-agent register` run by hand.
 */
export class OperationLock {
  private current: LockHolder | undefined;
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly now: () => Date = () => new Date(),
    private readonly hostLock?: HostLock,
  ) {}

  /** What runs now, for status pages. */
  get holder(): LockHolder | undefined {
    return this.current;
  }

  async run<T>(label: string, fn: () => Promise<T>, options: { readonly waitMs: number }): Promise<T> {
    const deadline = Date.now() + options.waitMs;
    await this.acquire(label, options.waitMs);
    let releaseHost: (() => Promise<void>) | undefined;
    try {
      releaseHost = await this.hostLock?.acquire(label, Math.max(0, deadline - Date.now()));
      return await fn();
    } finally {
      if (releaseHost) {
        // The answer does not wait for the helper's reply to `unlock` (a round trip between processes
        // on every operation); the next operation here does, whatever its waitMs: the lock is only
        // being let go (the release is asked for at once and never rejects).
        this.lettingGo = true;
        void releaseHost().finally(() => {
          this.lettingGo = false;
          this.release();
        });
      } else this.release();
    }
  }

  /** The operation is done and the host lock is being let go (see run). */
  private lettingGo = false;

  /** Marks the lock held before resolving, so that nobody can slip in between release and grant. */
  private acquire(label: string, waitMs: number): Promise<void> {
    if (this.current === undefined) {
      this.current = { label, startedAt: this.now() };
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        label,
        grant: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(
          () => {
            this.queue.splice(this.queue.indexOf(waiter), 1);
            reject(this.busyError());
          },
          this.lettingGo ? Math.max(waitMs, LETTING_GO_WAIT_MS) : waitMs,
        ),
      };
      this.queue.push(waiter);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    this.current = next ? { label: next.label, startedAt: this.now() } : undefined;
    next?.grant();
  }

  /** Only called while a waiter is queued, which implies a holder. */
  private busyError(): AgentError {
    const { label, startedAt } = this.current!;
    const started = startedAt.toISOString();
    return new AgentError(
      'BUSY',
      `Another operation (${label}, started ${started}) is running on this host: retry in a moment.`,
      {
        running: label,
        startedAt: started,
      },
    );
  }
}

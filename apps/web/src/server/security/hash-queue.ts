import { ControlPlaneError } from '../errors.ts';

type Slot = 'shared' | 'reserved';

/**
 * Password hashing is the one expensive thing an unauthenticated caller can start, so it runs through
 * this queue: at most `concurrency` hashes at once and at most `queueLimit` waiting; a caller past that
 * is turned away at once (503, SERVICE_UNAVAILABLE) instead of waiting behind a flood. Sign-ins from a
 * known device (a device cookie from an earlier successful sign-in) have one more slot of their own,
 * go before every other waiter, and have a waiting line of the same size of their own: a flood of
 * strangers holds them up by nothing (the reserved slot is free) or by one known device's hash.
 */
export class HashQueue {
  private running = 0;
  private reservedRunning = 0;
  private readonly waiting: {
    readonly priority: ((slot: Slot) => void)[];
    readonly normal: ((slot: Slot) => void)[];
  } = { priority: [], normal: [] };

  constructor(
    private readonly concurrency: number,
    private readonly queueLimit: number,
    /** Slots only known devices use, besides the shared ones. */
    private readonly reserved = 1,
  ) {}

  async run<T>(work: () => Promise<T>, options: { priority?: boolean } = {}): Promise<T> {
    let slot: Slot;
    if (this.running < this.concurrency) {
      this.running++;
      slot = 'shared';
    } else if (options.priority && this.reservedRunning < this.reserved) {
      this.reservedRunning++;
      slot = 'reserved';
    } else {
      const line = options.priority ? this.waiting.priority : this.waiting.normal;
      if (line.length >= this.queueLimit) {
        throw new ControlPlaneError(
          'BUSY',
          'The server is checking too many sign-ins at once: try again in a few seconds.',
        );
      }
      slot = await new Promise<Slot>((resolve) => line.push(resolve));
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter (a known device first; a reserved slot only to
      // one), else it is freed.
      const next =
        this.waiting.priority.shift() ?? (slot === 'shared' ? this.waiting.normal.shift() : undefined);
      if (next) next(slot);
      else if (slot === 'shared') this.running--;
      else this.reservedRunning--;
    }
  }

  /** Hashes running and waiting, for tests and the bench. */
  get load(): { running: number; waiting: number } {
    return {
      running: this.running + this.reservedRunning,
      waiting: this.waiting.priority.length + this.waiting.normal.length,
    };
  }
}

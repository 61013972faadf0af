import { ControlPlaneError } from '../errors.ts';

/**
 * Password hashing is the one expensive thing an unauthenticated caller can start, so it runs through
 * this queue: at most `concurrency` hashes at once and at most `queueLimit` waiting; a caller past that
 * is turned away at once (503, SERVICE_UNAVAILABLE) instead of waiting behind a flood. Sign-ins from a
 * known device (a device cookie from an earlier successful sign-in) go before every other waiter and
 * have a waiting line of the same size of their own, so a flood of strangers cannot hold them up for
 * longer than the hashes already running.
 */
export class HashQueue {
  private running = 0;
  private readonly waiting: { readonly priority: (() => void)[]; readonly normal: (() => void)[] } = {
    priority: [],
    normal: [],
  };

  constructor(
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  async run<T>(work: () => Promise<T>, options: { priority?: boolean } = {}): Promise<T> {
    if (this.running >= this.concurrency) {
      const line = options.priority ? this.waiting.priority : this.waiting.normal;
      if (line.length >= this.queueLimit) {
        throw new ControlPlaneError(
          'BUSY',
          'The server is checking too many sign-ins at once: try again in a few seconds.',
        );
      }
      await new Promise<void>((resolve) => line.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter (priority first), else it is freed.
      const next = this.waiting.priority.shift() ?? this.waiting.normal.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Hashes running and waiting, for tests and the bench. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.priority.length + this.waiting.normal.length };
  }
}

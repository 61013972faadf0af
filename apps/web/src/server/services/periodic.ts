/**
 * A tick run every `pollMs` until stopped, one at a time: the loop the replicas' timers share (the
 * catalogue sync, the reachability checks), each claiming its own work through the database. A tick
 * that fails is logged and the next one runs as planned; stop() waits for the tick in progress.
 */
export class PeriodicTick {
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private ticking: Promise<unknown> | undefined;

  constructor(
    private readonly what: string,
    private readonly tick: () => Promise<unknown>,
    private readonly log: (line: Record<string, unknown>) => void,
  ) {}

  get stopped(): boolean {
    return this.stopping;
  }

  start(pollMs: number): void {
    this.stopping = false;
    const loop = async () => {
      if (this.stopping) return;
      this.ticking = this.tick().catch((error: unknown) => {
        this.log({ msg: `${this.what} tick failed`, error: (error as Error).message });
      });
      await this.ticking;
      if (!this.stopping) this.timer = setTimeout(loop, pollMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.ticking;
  }
}

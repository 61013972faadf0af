/**
 * Lets go of the lock: the release is under way when it returns (callers need not wait, and
 * OperationLock does not); the promise settles once the lock is free, and never rejects.
 */
export type ReleaseHostLock = () => Promise<void>;

/**
 * One change to binfmt_misc at a time across processes: `binfleet-agent serve` and a one-shot
 * `binfleet-agent register` (or remove/enable/disable) beside it on the same binfmt_misc instance.
 * FlockHostLock is the real one.
 */
export interface HostLock {
  /**
   * Takes the lock, waiting up to `waitMs` for the process holding it. Rejects with BUSY naming
   * that process and what to do.
   */
  acquire(label: string, waitMs: number): Promise<ReleaseHostLock>;
  /** Lets go of what holding the lock takes (a helper process), once the operation in progress is done. */
  close(): Promise<void>;
}

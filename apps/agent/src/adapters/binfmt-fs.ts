/**
 * binfmt_misc as the services see it: entry names, entry file text and register lines. Its one real
 * implementation, kernel-binfmt-fs.ts, is the only code that touches binfmt_misc: it turns these into
 * reads and single writes on the mount point and the kernel's errno into advice.
 */
export interface BinfmtFs {
  readonly mountPoint: string;
  /** Whether binfmt_misc is mounted (its `register` file exists). */
  isMounted(): Promise<boolean>;
  /** Mounts binfmt_misc at the mount point, like qemu-binfmt-conf.sh does. */
  mount(): Promise<void>;
  /**
   * Unmounts it. The kernel drops every entry with the last mount of a namespace's binfmt_misc, so
   * this also puts back "nothing registered" on a machine that had it unmounted.
   */
  unmount(): Promise<void>;
  /** Whether we may write `register` (root in the namespace that owns this mount). */
  isWritable(): Promise<boolean>;
  /** Global switch (`status` file). */
  isEnabled(): Promise<boolean>;
  /** Names of all entries. */
  list(): Promise<string[]>;
  /** The entry file's text, or undefined if there is no such entry. */
  read(name: string): Promise<string | undefined>;
  register(line: string): Promise<void>;
  /** Runs `fn`, whose writes may share what one write alone would open (the kernel's `register` file). */
  batched<T>(fn: () => Promise<T>): Promise<T>;
  setEnabled(name: string, enabled: boolean): Promise<void>;
  remove(name: string): Promise<void>;
}

export const DEFAULT_MOUNT_POINT = '/proc/sys/fs/binfmt_misc';

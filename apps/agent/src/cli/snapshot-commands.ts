/**
 * The first arguments the CLI's startup snapshot runs (besides none at all: the usage): those
 * `run-command.ts` serves with what it imports statically. The launcher (packaging/launcher.sh.in)
 * sends these, and only these, to the snapshot; any other goes to the bundle.
 */
export const SNAPSHOT_COMMANDS = [
  'register',
  'status',
  'remove',
  'enable',
  'disable',
  'export',
  'help',
  '--help',
  '-h',
  '--version',
  '-V',
] as const;

/** Whether the light commands' script (its snapshot, or the bundle's entry) runs `command` (none: the usage). */
export const isSnapshotCommand = (command: string | undefined): boolean =>
  command === undefined || (SNAPSHOT_COMMANDS as readonly string[]).includes(command);

/**
 * The launcher runs `node --snapshot-blob BLOB -- binfleet-agent ARGS...`: node keeps the arguments
 * after `--`, so process.argv is [node, this mark, ...ARGS] as it is [node, bundle, ...ARGS] without.
 */
export const SNAPSHOT_ARGV_MARK = 'binfleet-agent';

/**
 * Set on globalThis while the build makes the bundle's code cache of the light commands' script
 * (code-cache.ts): the script then runs its warm-up, the work a `register` does at every start,
 * instead of a command, so that the cache holds those functions compiled too.
 */
export const CODE_CACHE_WARM_UP: unique symbol = Symbol.for('binfleet-agent.code-cache-warm-up');

/** Whether this run makes the code cache (see CODE_CACHE_WARM_UP). */
export const makingCodeCache = (): boolean =>
  (globalThis as { [CODE_CACHE_WARM_UP]?: boolean })[CODE_CACHE_WARM_UP] === true;

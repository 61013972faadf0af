/**
 * One of Node's built-in modules for a snapshot's script (scripts/snapshot-*.ts), loaded at first use,
 * once the process has started from the snapshot: `builtinAtFirstUse('node:http')()` is the module.
 */

// The snapshot script's own require (CommonJS): it serves Node's built-in modules.
declare const require: (id: string) => unknown;

export function builtinAtFirstUse<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded) return loaded;
    // The snapshot's require warns about modules Node has not vetted for snapshots, on Node 18 (and
    // older Node 20 releases) also when they are loaded after the start, as here: that warning would
    // end up in the CLI's stderr and the agent's log.
    const emitWarning = process.emitWarning;
    process.emitWarning = () => {};
    try {
      loaded = require(id) as T;
    } finally {
      process.emitWarning = emitWarning;
    }
    return loaded;
  };
}

/** A function of such a module, called through the module loaded at first use. */
export type AnyFunction = (...args: unknown[]) => unknown;

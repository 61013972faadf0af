/**
 * The entry of the agent's own startup snapshot (dist/bin/binfleet-agent-serve-snapshot.cjs, see
 * packaging/launcher.sh.in): `serve` with everything it loads (tRPC, the contract's zod schemas, the
 * arch table, the control-plane link) evaluated once into a V8 heap, which every start of the agent
 * then begins from instead of parsing and evaluating them again: about 40% less CPU per start
 * (docs/operations.md). The light commands have a smaller snapshot of their own (snapshot-main.ts).
 *
 * As there, nothing here may read the run's environment, arguments, files, time or pid while the
 * snapshot is built, nor use what keeps state made then (crypto.randomUUID's pool of random bytes):
 * all of that happens in the main function, at each start. Node's http and child_process cannot be
 * held in a snapshot; scripts/bundling.ts gives this script versions of them that load at first use.
 */
import { closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { exitQuietlyOnClosedPipe, stdio } from './process-io.ts';
import { runCommand } from './run-command.ts';
import { serveCommand } from './serve-command.ts';

// Node 18 (Debian 12's) cannot hold child_process in a snapshot (scripts/snapshot-child-process.ts)
// and warns that net is not supported there, which serve loads: the agent's snapshot is made on Node
// 20 and newer only. On 18 its build fails here, the launcher leaves its mark (no second try) and the
// agent runs from the bundle as before.
if (Number(process.versions.node.split('.')[0]) < 20)
  throw new Error('the agent snapshot needs Node.js 20 or newer: the agent runs from its bundle here');

/**
 * The launcher runs `node --snapshot-blob BLOB -- BUNDLE serve ARGS...`: process.argv is
 * [node, bundle, 'serve', ...ARGS], as when node runs the bundle, so the agent finds its install
 * (and dockerode beside it, scripts/snapshot-dockerode.ts) from process.argv[1] either way.
 */
startupSnapshot.setDeserializeMainFunction(() => {
  const [, bundle, command, ...argv] = process.argv;
  if (command !== 'serve' || bundle === undefined || !bundle.endsWith('.cjs')) {
    stdio.err('binfleet-agent: this snapshot runs `serve` only: run bin/binfleet-agent (its launcher).');
    process.exitCode = 2;
    return;
  }
  // Absolute and normalised, as node gives a script's path (a checkout's launcher passes lib/../..).
  process.argv[1] = resolve(bundle);
  // The launcher opened the blob as fd 9 for node to read (launcher.sh.in): read, it is not kept open
  // for the agent's life, nor handed to every process the agent starts.
  if (process.execArgv.includes('/dev/fd/9')) {
    try {
      closeSync(9);
    } catch {
      // Not open after all: nothing to close.
    }
  }
  quietSnapshotWarnings();
  exitQuietlyOnClosedPipe();
  void runCommand(['serve', ...argv], stdio, { early: { serve: serveCommand }, withContext: {} }).then(
    (code) => {
      process.exitCode = code;
    },
  );
});

/**
 * Older releases of Node 20 warn when a script started from a snapshot loads some of Node's modules,
 * even after the start ("... in user snapshots"): those load here at first use on purpose
 * (scripts/snapshot-*.ts, Node's https, zlib, dns, dgram), and the warning would only fill the log.
 */
function quietSnapshotWarnings(): void {
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/user snapshot/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

/**
 * The light commands' script (dist/bin/binfleet-agent-snapshot.cjs): the entry of the CLI's startup
 * snapshot (packaging/launcher.sh.in), and what the bundle's entry runs for those commands
 * (bundle-main.ts, from its code cache: code-cache.ts). `node --snapshot-blob BLOB --build-snapshot`
 * evaluates this script, with zod, the arch table, the schemas and the light commands, into a V8 heap
 * that later starts in place of parsing and evaluating them again. Nothing here may read the run's
 * environment, arguments, files, time or pid while the snapshot is built: all of that happens in the
 * main function, which runs at each start from the snapshot. No exports: a snapshot's script runs
 * without `module` (esbuild would write module.exports for them).
 */
import type * as V8 from 'node:v8';
import { nativeFindings, overlapFindings, TARGET_IDS } from '@binfleet/arch-table';
import { readEnv } from '../env.ts';
import { planApply } from '../services/registration-plan.ts';
import { parseGetopt } from './getopt.ts';
import { desiredFromSeed, SEED_OPTIONS } from './seed-options.ts';
import { stdio } from './process-io.ts';
import { runCommand } from './run-command.ts';
import { isSnapshotCommand, makingCodeCache, SNAPSHOT_ARGV_MARK } from './snapshot-commands.ts';

// The script's own require (CommonJS, scripts/build.ts): it serves Node's built-in modules.
declare const require: (id: string) => unknown;

/** The light commands, with Node's argv after the script (or the snapshot's mark). */
function run(argv: string[]): void {
  void runCommand(argv, stdio, { early: {}, withContext: {} }).then((code) => {
    process.exitCode = code;
  });
}

/**
 * Run once with fixed inputs and no I/O, what `register --reset -p yes` runs at every start: the
 * environment's and the desired state's zod schemas (zod compiles its parsers on first use) and the
 * plan of every target's register line. A snapshot keeps them compiled (~5-8% less CPU a run), and
 * the bundle's code cache (code-cache.ts) their functions' bytecode. Also the guard's checks of every
 * target's magic against the host's own programs and the kernel's entries (their decoded rules are
 * kept by the arch table): ~4 ms a run when left to the run. And the option parser (Node's
 * util.parseArgs is loaded and compiled on first use: ~1.3 ms a run).
 */
function warmUp(): void {
  parseGetopt(['-p', 'yes', '--credential=no'], SEED_OPTIONS);
  planApply(new Map(), desiredFromSeed({ persistent: 'yes' }, readEnv({}), [...TARGET_IDS]), { reset: true });
  nativeFindings(TARGET_IDS, [{ path: '/bin/sh', header: new Uint8Array(128) }]);
  overlapFindings(TARGET_IDS, []);
}

// `node --build-snapshot SCRIPT` is how a snapshot is made (launcher.sh.in); node:v8 itself is only
// loaded then: it costs ~3 ms of each run from the bundle.
if (process.execArgv.includes('--build-snapshot')) {
  // Node's net and stream modules: process.stdout and process.stderr are made of them when they are
  // pipes (tty's streams too). Loaded here they are compiled in the snapshot, not at every start (~2 ms
  // a run). Node 20 supports both in a snapshot; Node 18 warns that net is not supported, so there
  // they load at the start as before (child_process is supported by neither:
  // scripts/snapshot-child-process.ts).
  if (Number(process.versions.node.split('.')[0]) >= 20) require('node:net');
  const { startupSnapshot } = require('node:v8') as typeof V8;
  warmUp();
  startupSnapshot.setDeserializeMainFunction(() => {
    // stdio makes stdout and stderr (quiet on a closed pipe) when it first writes to each: the light
    // commands write through it alone.
    const [, mark, ...argv] = process.argv;
    if (mark !== SNAPSHOT_ARGV_MARK || !isSnapshotCommand(argv[0])) {
      stdio.err(
        `binfleet-agent: ${mark === SNAPSHOT_ARGV_MARK ? `"${argv[0]}" is` : 'these arguments are'} not for the startup snapshot: run bin/binfleet-agent (its launcher).`,
      );
      process.exitCode = 2;
      return;
    }
    run(argv);
  });
} else if (makingCodeCache()) {
  // The build makes the bundle's code cache of this script (code-cache.ts): no command, the warm-up.
  warmUp();
} else {
  // Run by the bundle's entry (bundle-main.ts) for these commands: at once, without the warm-up.
  run(process.argv.slice(2));
}

/**
 * The entry of the CLI's startup snapshot (dist/bin/binfleet-agent-snapshot.cjs, see
 * packaging/launcher.sh.in): `node --snapshot-blob BLOB --build-snapshot` evaluates this script, with
 * zod, the arch table, the schemas and the light commands, into a V8 heap that later starts in place
 * of parsing and evaluating them again. Nothing here may read the run's environment, arguments,
 * files, time or pid while the snapshot is built: all of that happens in the main function, which
 * runs at each start from the snapshot.
 */
import { startupSnapshot } from 'node:v8';
import { exitQuietlyOnClosedPipe, stdio } from './process-io.ts';
import { runCommand } from './run-command.ts';
import { SNAPSHOT_ARGV_MARK, SNAPSHOT_COMMANDS } from './snapshot-commands.ts';

// No exports: the script runs without `module` (esbuild would write module.exports for them).

startupSnapshot.setDeserializeMainFunction(() => {
  exitQuietlyOnClosedPipe();
  const mark = process.argv.indexOf(SNAPSHOT_ARGV_MARK, 1);
  const argv = mark < 0 ? [] : process.argv.slice(mark + 1);
  const command = argv[0];
  if (mark < 0 || (command !== undefined && !(SNAPSHOT_COMMANDS as readonly string[]).includes(command))) {
    stdio.err(
      `binfleet-agent: ${mark < 0 ? 'no arguments' : `"${command}"`} for the startup snapshot: run bin/binfleet-agent instead (its launcher).`,
    );
    process.exitCode = 2;
    return;
  }
  void runCommand(argv, stdio, { early: {}, withContext: {} }).then((code) => {
    process.exitCode = code;
  });
});

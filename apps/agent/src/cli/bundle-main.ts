#!/usr/bin/env node
/**
 * The bundle's entry (dist/bin/binfleet-agent.cjs, scripts/build.ts): what `node binfleet-agent.cjs`,
 * the launcher without a snapshot and the image run. A CommonJS script, so that the light commands
 * (SNAPSHOT_COMMANDS, or none) never start Node's ES module loader (~10 ms): they go to the one script
 * their startup snapshot is made of, dist/bin/binfleet-agent-snapshot.cjs, from its code cache
 * (code-cache.ts). That is ~170 KB of JavaScript instead of the ~450 KB of modules they shared with
 * the other commands, and none of Node's modules those commands do not use. Every other command
 * imports main.ts (dist/bin/binfleet-agent-main.mjs and its chunks), as the sources do
 * (bin/binfleet-agent.js).
 */
import { join } from 'node:path';
import { CODE_CACHE_TAKEN, runWithCodeCache } from './code-cache.ts';
import { isSnapshotCommand } from './snapshot-commands.ts';

if (isSnapshotCommand(process.argv[2])) {
  // Beside this entry in dist/bin/, with its code cache (scripts/build.ts writes all three).
  const taken = runWithCodeCache(join(__dirname, 'binfleet-agent-snapshot.cjs'));
  (globalThis as { [CODE_CACHE_TAKEN]?: boolean })[CODE_CACHE_TAKEN] = taken;
} else {
  void import('./main.ts').then(async ({ exitQuietlyOnClosedPipe, main }) => {
    exitQuietlyOnClosedPipe();
    process.exitCode = await main(process.argv.slice(2));
  });
}

#!/usr/bin/env node
/**
 * The bundle's entry (dist/bin/binfleet-agent.mjs, scripts/build.ts), what `node binfleet-agent.mjs`
 * and the image run. The light commands (SNAPSHOT_COMMANDS, or none) go to the one CommonJS script
 * their startup snapshot is made of, dist/bin/binfleet-agent-snapshot.cjs, which runs them directly
 * when no snapshot is being built: ~170 KB compiled as one script instead of ~450 KB of ES modules
 * (the chunks the other commands share), one module to resolve instead of ten, and none of Node's
 * modules loaded that those commands do not use. Every other command loads main.ts as the sources
 * do (bin/binfleet-agent.js). The launcher (packaging/launcher.sh.in) starts the light commands from
 * the script's snapshot instead, and falls back to this bundle.
 */
import { createRequire } from 'node:module';
import { isSnapshotCommand } from './snapshot-commands.ts';

if (isSnapshotCommand(process.argv[2])) {
  // Beside this bundle in dist/bin/ (scripts/build.ts writes both).
  createRequire(import.meta.url)('./binfleet-agent-snapshot.cjs');
} else {
  const { exitQuietlyOnClosedPipe, main } = await import('./main.ts');
  exitQuietlyOnClosedPipe();
  process.exitCode = await main(process.argv.slice(2));
}

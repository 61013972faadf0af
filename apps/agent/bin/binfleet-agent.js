#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `pnpm exec binfleet-agent` works without a build.
import { register } from 'tsx/esm/api';

register();
const { exitQuietlyOnClosedPipe, main } = await import('../src/cli/main.ts');
exitQuietlyOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildWhenStale, REPO, WEB_BUILD_INPUTS } from '@binfleet/test-sandbox';
import { WEB_DIR } from './web-server.ts';

/** A `next build` newer than every source it bundles is reused (one build at a time: buildWhenStale). */
export function ensureWebBuild(log: (line: string) => void): void {
  buildWhenStale(REPO, 'web-build', join(WEB_DIR, '.next/BUILD_ID'), WEB_BUILD_INPUTS, () =>
    run('next build', join(WEB_DIR, 'node_modules/.bin/next'), ['build'], WEB_DIR, log),
  );
}

function run(what: string, cmd: string, args: readonly string[], cwd: string, log: (l: string) => void) {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${what} failed:\n${r.stdout}\n${r.stderr}`);
  log(`${what} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

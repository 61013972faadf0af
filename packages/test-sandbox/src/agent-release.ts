import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './agent-process.ts';
import { AGENT_BUILD_INPUTS, isStale, underBuildLock } from './freshness.ts';

/** What `pnpm agent:package` packages, relative to the repository. */
export const AGENT_PACKAGE_INPUTS = [
  ...AGENT_BUILD_INPUTS,
  'apps/agent/packaging',
  'docs/agent.md',
  'pnpm-lock.yaml',
] as const;

/** Where `pnpm agent:package` writes the release (manifest.json, SHA256SUMS and the artifacts). */
export const AGENT_RELEASE_DIR = join(REPO, 'dist/agent');

/**
 * dist/agent as `pnpm agent:package` makes it, run again only when it is missing, older than what
 * it packages, or lacks the image asked for: a full run of the suites packages once. Tests use what
 * users get, made by the same command. It builds the agent's bundle again too, so it holds the same
 * lock as agentBundle; agents other test processes started from that bundle meanwhile are why the
 * files that call this run one at a time (vitest.config.ts).
 */
export function ensureAgentRelease(options: { image?: boolean } = {}): string {
  const manifest = join(AGENT_RELEASE_DIR, 'manifest.json');
  const hasImage = () => existsSync(manifest) && /"kind": "image"/.test(readFileSync(manifest, 'utf8'));
  underBuildLock(REPO, 'agent-dist', () => {
    if (isStale(manifest, AGENT_PACKAGE_INPUTS, REPO) || (options.image && !hasImage())) {
      const result = spawnSync('pnpm', ['agent:package', ...(options.image ? ['--image'] : [])], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 15 * 60_000,
      });
      if (result.status !== 0)
        throw new Error(
          `pnpm agent:package failed (status ${result.status}):\n${result.stdout}\n${result.stderr}`,
        );
    }
  });
  return AGENT_RELEASE_DIR;
}

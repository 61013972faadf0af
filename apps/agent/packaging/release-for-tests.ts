import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentReleaseManifestSchema, type AgentReleaseManifest } from '@binfleet/agent-contract';
import { OUT_DIR, REPO_ROOT } from './release-layout.ts';

/**
 * dist/agent as `pnpm agent:package` makes it, rebuilt only when its inputs changed (a full run of
 * the suite packages once), and its manifest. The tests use what users get, through the same command.
 */
export function releaseForTests(options: { image?: boolean } = {}): {
  manifest: AgentReleaseManifest;
  path: (kind: 'deb' | 'tarball' | 'image') => string;
} {
  execFileSync('pnpm', ['agent:package', '--if-stale', ...(options.image ? ['--image'] : [])], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  });
  const manifest = agentReleaseManifestSchema.parse(JSON.parse(readFileSync(join(OUT_DIR, 'manifest.json'), 'utf8')));
  return {
    manifest,
    path: (kind) => {
      const artifact = manifest.artifacts.find((a) => a.kind === kind);
      if (!artifact) throw new Error(`dist/agent has no ${kind}: run pnpm agent:package${kind === 'image' ? ' --image' : ''}`);
      return join(OUT_DIR, artifact.file);
    },
  };
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentReleaseManifestSchema, type AgentReleaseManifest } from '@binfleet/agent-contract';
import { ensureAgentRelease } from '@binfleet/test-sandbox';

/** dist/agent (packaged again when stale) and its manifest. */
export function releaseForTests(options: { image?: boolean } = {}): {
  manifest: AgentReleaseManifest;
  path: (kind: 'deb' | 'tarball' | 'image') => string;
} {
  const dir = ensureAgentRelease(options);
  const manifest = agentReleaseManifestSchema.parse(
    JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')),
  );
  return {
    manifest,
    path: (kind) => {
      const artifact = manifest.artifacts.find((a) => a.kind === kind);
      if (!artifact) throw new Error(`dist/agent has no ${kind}`);
      return join(dir, artifact.file);
    },
  };
}

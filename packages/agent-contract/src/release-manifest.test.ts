import { describe, expect, it } from 'vitest';
import { agentReleaseManifestSchema } from './release-manifest.ts';
import { CONTRACT_VERSION } from './version.ts';

const manifest = {
  version: '0.1.0',
  contractVersion: CONTRACT_VERSION,
  node: '>=18',
  artifacts: [
    {
      file: 'binfleet-agent_0.1.0_all.deb',
      kind: 'deb',
      arch: 'all',
      sha256: 'a'.repeat(64),
      size: 2_789_200,
    },
    {
      file: 'binfleet-agent-0.1.0-linux.tar.gz',
      kind: 'tarball',
      arch: 'all',
      sha256: 'b'.repeat(64),
      size: 1,
    },
  ],
};

describe('agentReleaseManifestSchema', () => {
  it('takes the manifest pnpm agent:package writes', () => {
    expect(agentReleaseManifestSchema.parse(manifest)).toEqual(manifest);
  });

  it('refuses file names with a path, unknown kinds and malformed digests', () => {
    const artifact = manifest.artifacts[0]!;
    for (const bad of [
      { ...artifact, file: '../etc/passwd' },
      { ...artifact, file: 'dir/x.deb' },
      { ...artifact, kind: 'rpm' },
      { ...artifact, sha256: 'A'.repeat(64) },
      { ...artifact, size: -1 },
    ]) {
      expect(agentReleaseManifestSchema.safeParse({ ...manifest, artifacts: [bad] }).success).toBe(false);
    }
    expect(agentReleaseManifestSchema.safeParse({ ...manifest, artifacts: [] }).success).toBe(false);
  });
});

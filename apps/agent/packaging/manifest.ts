import { createHash } from 'node:crypto';
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentReleaseManifestSchema,
  CONTRACT_VERSION,
  type AgentReleaseArtifact,
} from '@binfleet/agent-contract';
import { NODE_MAJOR } from './release-layout.ts';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** SHA256SUMS (sha256sum's format) and manifest.json for the artifacts in `outDir`. */
export async function writeManifest(
  outDir: string,
  version: string,
  files: readonly { file: string; kind: AgentReleaseArtifact['kind'] }[],
): Promise<void> {
  const artifacts: AgentReleaseArtifact[] = [];
  for (const { file, kind } of files) {
    const path = join(outDir, file);
    artifacts.push({ file, kind, arch: 'all', sha256: await sha256(path), size: statSync(path).size });
  }
  const manifest = agentReleaseManifestSchema.parse({
    version,
    contractVersion: CONTRACT_VERSION,
    node: `>=${NODE_MAJOR}`,
    artifacts,
  });
  writeFileSync(join(outDir, 'SHA256SUMS'), artifacts.map((a) => `${a.sha256}  ${a.file}\n`).join(''));
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

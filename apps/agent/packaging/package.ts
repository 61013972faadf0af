/**
 * The agent as artifacts a host installs without the repository, in <repo>/dist/agent/:
 *   binfleet-agent-<version>-linux.tar.gz   relocatable tree for any Linux with Node.js >= 18
 *   binfleet-agent_<version>_all.deb         Debian/Ubuntu package
 *   binfleet-agent-<version>-image.tar       the container image (docker save), with --image
 *   SHA256SUMS, manifest.json                 (agentReleaseManifestSchema of @binfleet/agent-contract)
 *
 *   pnpm agent:package [--image]
 *
 * --image needs dockerd and apt (Debian packages are downloaded once into /var/cache/binfleet).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AgentReleaseArtifact } from '@binfleet/agent-contract';
import { buildBundle } from './agent-tree.ts';
import { writeDeb } from './deb.ts';
import { writeImage } from './image.ts';
import { writeManifest } from './manifest.ts';
import { agentVersion, artifactNames, OUT_DIR } from './release-layout.ts';
import { stageTree, writeTarball } from './tarball.ts';

const { values } = parseArgs({ options: { image: { type: 'boolean', default: false } } });

const started = Date.now();
const step = <T>(name: string, fn: () => T): T => {
  const at = Date.now();
  const result = fn();
  console.log(`agent:package: ${name} (${((Date.now() - at) / 1000).toFixed(1)} s)`);
  return result;
};

const version = agentVersion();
const names = artifactNames(version);
// A fresh folder: what is in it is one release, listed by its manifest (written last).
rmSync(OUT_DIR, { recursive: true, force: true });
const stage = join(OUT_DIR, '.stage');
mkdirSync(stage, { recursive: true });

step('bundle', buildBundle);
const { top } = step('tree', () => stageTree(join(stage, 'tarball'), version));
step(names.tarball, () => writeTarball(join(stage, 'tarball'), version, join(OUT_DIR, names.tarball)));
step(names.deb, () => writeDeb(stage, version, join(OUT_DIR, names.deb)));
const artifacts: { file: string; kind: AgentReleaseArtifact['kind'] }[] = [
  { file: names.deb, kind: 'deb' },
  { file: names.tarball, kind: 'tarball' },
];
if (values.image) {
  step(names.image, () => writeImage(stage, top, version, join(OUT_DIR, names.image)));
  artifacts.push({ file: names.image, kind: 'image' });
}
rmSync(stage, { recursive: true, force: true });
await writeManifest(OUT_DIR, version, artifacts);
console.log(`agent:package: ${OUT_DIR} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where `pnpm agent:package` reads from and writes to, and what it names things. */
export const AGENT_DIR = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const REPO_ROOT = join(AGENT_DIR, '../..');
export const PACKAGING_DIR = join(AGENT_DIR, 'packaging');
export const OUT_DIR = join(REPO_ROOT, 'dist/agent');
/** Debian packages downloaded for the image and for tests, kept across runs (like scripts/test-deps.sh). */
export const APT_CACHE_DIR = '/var/cache/binfleet/agent-debs';

/** The oldest Node.js the bundle runs on: Debian 12's nodejs (scripts/build.ts targets it). */
export const NODE_MAJOR = 18;
/** Where the image (and the tarball's systemd unit) puts the tree. */
export const TARBALL_PREFIX = '/opt/binfleet-agent';
export const IMAGE_REPOSITORY = 'binfleet/agent';

export function agentVersion(): string {
  return (JSON.parse(readFileSync(join(AGENT_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}

export const artifactNames = (version: string) => ({
  tarball: `binfleet-agent-${version}-linux.tar.gz`,
  tarballTop: `binfleet-agent-${version}`,
  deb: `binfleet-agent_${version}_all.deb`,
  image: `binfleet-agent-${version}-image.tar`,
  imageTag: `${IMAGE_REPOSITORY}:${version}`,
});

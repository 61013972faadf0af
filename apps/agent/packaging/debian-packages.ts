import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APT_CACHE_DIR } from './release-layout.ts';

export interface DebianPackage {
  readonly name: string;
  readonly version: string;
  readonly file: string;
}

/**
 * The packages an empty Debian system of this machine's architecture needs for `wanted` (no
 * recommends), as apt's own resolver picks them: against an empty dpkg status, so what this machine
 * has installed (nodejs 20 from NodeSource, say) does not count and nodejs is Debian's own.
 */
export function resolveClosure(wanted: readonly string[]): { name: string; version: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'binfleet-apt-'));
  try {
    const status = join(dir, 'status');
    writeFileSync(status, '');
    const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
    const plan = execFileSync(
      'apt-get',
      [
        '-s',
        '-o',
        `Dir::State::status=${status}`,
        '-o',
        `APT::Architectures=${arch}`,
        'install',
        '--no-install-recommends',
        ...wanted,
      ],
      { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
    );
    return [...plan.matchAll(/^Inst (\S+) \((\S+) /gm)].map((m) => ({ name: m[1]!, version: m[2]! }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const debFile = (name: string, version: string) => `${name}_${version.replace(':', '%3a')}_`;

/**
 * Those packages as .deb files in /var/cache/binfleet/agent-debs (downloaded once, with apt-get
 * download as root without apt's sandbox user, like scripts/test-deps.sh).
 */
export function downloadPackages(packages: readonly { name: string; version: string }[]): DebianPackage[] {
  mkdirSync(APT_CACHE_DIR, { recursive: true });
  const find = (name: string, version: string) =>
    readdirSync(APT_CACHE_DIR).find((f) => f.startsWith(debFile(name, version)) && f.endsWith('.deb'));
  const missing = packages.filter((p) => !find(p.name, p.version));
  if (missing.length > 0) {
    execFileSync(
      'apt-get',
      ['-o', 'APT::Sandbox::User=root', 'download', ...missing.map((p) => `${p.name}=${p.version}`)],
      { cwd: APT_CACHE_DIR, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return packages.map((p) => {
    const file = find(p.name, p.version);
    if (!file || !existsSync(join(APT_CACHE_DIR, file)))
      throw new Error(`apt-get download ${p.name}=${p.version} left no .deb in ${APT_CACHE_DIR}`);
    return { ...p, file: join(APT_CACHE_DIR, file) };
  });
}

/**
 * Debian's nodejs (18 on Debian 12) with what it needs, and dash, downloaded: a root to chroot into
 * (Debian's node loads some of its built-in modules from /usr/share/nodejs).
 */
export const debianNodePackages = () => downloadPackages(resolveClosure(['nodejs', 'dash']));

/** Unpacks packages into `root` as dpkg-deb -x does (no maintainer scripts run). */
export function extractPackages(packages: readonly DebianPackage[], root: string): void {
  for (const p of packages) execFileSync('dpkg-deb', ['-x', p.file, root]);
}

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { renderUnit, writeLauncher, writeLibrary } from './agent-tree.ts';
import type { ShippedModule } from './node-modules.ts';
import { NODE_MAJOR, PACKAGING_DIR, REPO_ROOT } from './release-layout.ts';

const PACKAGE = 'binfleet-agent';
const MAINTAINER = 'binfleet maintainers <maintainers@binfleet.example.org>';

/**
 * binfleet-agent_<version>_all.deb, staged in `stageDir` and built with dpkg-deb (no debhelper): the
 * bundle in /usr/lib/binfleet-agent, the launcher as /usr/bin/binfleet-agent, the hardened unit, an
 * empty /etc/binfleet-agent (0700) and the maintainer scripts in debian/.
 */
export function writeDeb(stageDir: string, version: string, outFile: string): void {
  const root = join(stageDir, 'deb');
  const doc = join(root, 'usr/share/doc', PACKAGE);
  const unitDir = join(root, 'lib/systemd/system');
  for (const dir of ['DEBIAN', 'usr/bin', 'etc/binfleet-agent'])
    mkdirSync(join(root, dir), { recursive: true });
  mkdirSync(doc, { recursive: true });
  mkdirSync(unitDir, { recursive: true });

  const modules = writeLibrary(join(root, 'usr/lib', PACKAGE), version);
  writeLauncher(join(root, 'usr/bin/binfleet-agent'), `lib/${PACKAGE}`);
  writeFileSync(
    join(unitDir, 'binfleet-agent.service'),
    renderUnit('/usr/bin/binfleet-agent', `file:///usr/share/doc/${PACKAGE}/agent.md`),
  );
  cpSync(join(REPO_ROOT, 'docs/agent.md'), join(doc, 'agent.md'));
  writeFileSync(join(doc, 'copyright'), copyright(modules));
  writeFileSync(join(doc, 'changelog.gz'), gzipSync(changelog(version), { level: 9 }));
  mkdirSync(join(root, 'usr/share/lintian/overrides'), { recursive: true });
  // Root-only on purpose: the agent's options and one-time join token live there.
  writeFileSync(
    join(root, 'usr/share/lintian/overrides', PACKAGE),
    `${PACKAGE}: non-standard-dir-perm 0700 != 0755 [etc/binfleet-agent/]\n`,
  );

  fixModes(root);
  chmodSync(join(root, 'usr/bin/binfleet-agent'), 0o755);
  chmodSync(join(root, 'etc/binfleet-agent'), 0o700);
  for (const script of ['postinst', 'prerm', 'postrm']) {
    cpSync(join(PACKAGING_DIR, 'debian', script), join(root, 'DEBIAN', script));
    chmodSync(join(root, 'DEBIAN', script), 0o755);
  }
  writeFileSync(join(root, 'DEBIAN/md5sums'), md5sums(root));
  writeFileSync(join(root, 'DEBIAN/control'), control(version, installedSizeKiB(root)));
  chmodSync(join(root, 'DEBIAN/md5sums'), 0o644);
  chmodSync(join(root, 'DEBIAN/control'), 0o644);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, outFile], { stdio: 'pipe' });
}

function control(version: string, installedSize: number): string {
  return `Package: ${PACKAGE}
Version: ${version}
Architecture: all
Maintainer: ${MAINTAINER}
Installed-Size: ${installedSize}
Depends: nodejs (>= ${NODE_MAJOR})
Recommends: qemu-user-static
Suggests: docker.io
Section: admin
Priority: optional
Description: keeps this host's QEMU binfmt_misc registrations right
 The binfleet agent registers the QEMU user-mode emulators in binfmt_misc as
 its control plane (or its own token-protected API) asks, puts them back
 after a reboot or a change behind its back, and proves they work by running
 a binary of each architecture.
 .
 The service starts once /etc/binfleet-agent/agent.env exists: put the
 agent's options there as BINFLEET_AGENT_ARGS="...".
`;
}

function copyright(modules: readonly ShippedModule[]): string {
  const list = modules.map((m) => ` ${m.name} ${m.version} (${m.license})`).join('\n');
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: binfleet-agent
Comment: The agent is bundled JavaScript. Besides binfleet's own code, the bundle
 holds zod and tRPC (MIT), and /usr/lib/${PACKAGE}/node_modules these npm
 packages, each with its license in its folder:
${list}

Files: *
Copyright: 2026 binfleet authors
License: UNLICENSED
 binfleet is not published under a free license; ask its authors for terms.
`;
}

function changelog(version: string): string {
  let date: string;
  try {
    date = execFileSync('git', ['log', '-1', '--format=%aD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    date = new Date().toUTCString().replace('GMT', '+0000');
  }
  return `${PACKAGE} (${version}) unstable; urgency=medium

  * binfleet agent ${version}, packaged by pnpm agent:package.

 -- ${MAINTAINER}  ${date}
`;
}

/** Folders 0755 and files 0644 unless executable (the library is normalized already). */
function fixModes(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) fixModes(path);
    else if (entry.isFile()) chmodSync(path, statSync(path).mode & 0o111 ? 0o755 : 0o644);
  }
}

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

function md5sums(root: string): string {
  const lines: string[] = [];
  for (const file of files(root)) {
    const path = relative(root, file);
    if (path.startsWith('DEBIAN/')) continue;
    lines.push(`${createHash('md5').update(readFileSync(file)).digest('hex')}  ${path}`);
  }
  return lines.sort((a, b) => a.slice(34).localeCompare(b.slice(34))).join('\n') + '\n';
}

function installedSizeKiB(root: string): number {
  let bytes = 0;
  for (const file of files(root))
    if (!relative(root, file).startsWith('DEBIAN/')) bytes += statSync(file).size;
  return Math.ceil(bytes / 1024);
}

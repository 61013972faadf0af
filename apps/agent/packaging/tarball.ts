import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShippedModule } from './node-modules.ts';
import { renderUnit, writeLauncher, writeLibrary } from './agent-tree.ts';
import { artifactNames, REPO_ROOT, TARBALL_PREFIX } from './release-layout.ts';

/**
 * The relocatable tree (bin/, lib/, share/) in `stageDir`/binfleet-agent-<version>/, as the tarball
 * and the image hold it. Its systemd unit is for the prefix /opt/binfleet-agent; an installer that
 * extracts elsewhere replaces that path in it.
 */
export function stageTree(stageDir: string, version: string): { top: string; modules: ShippedModule[] } {
  const top = join(stageDir, artifactNames(version).tarballTop);
  mkdirSync(join(top, 'bin'), { recursive: true });
  const modules = writeLibrary(join(top, 'lib'), version);
  writeLauncher(join(top, 'bin/binfleet-agent'), 'lib');
  const share = join(top, 'share/binfleet-agent');
  const doc = join(top, 'share/doc/binfleet-agent');
  mkdirSync(share, { recursive: true });
  mkdirSync(doc, { recursive: true });
  writeFileSync(
    join(share, 'binfleet-agent.service'),
    renderUnit(
      `${TARBALL_PREFIX}/bin/binfleet-agent`,
      `file://${TARBALL_PREFIX}/share/doc/binfleet-agent/agent.md`,
      TARBALL_PREFIX,
    ),
  );
  cpSync(join(REPO_ROOT, 'docs/agent.md'), join(doc, 'agent.md'));
  return { top, modules };
}

/** binfleet-agent-<version>-linux.tar.gz: one top folder, owned by root, entries sorted (reproducible but for mtimes). */
export function writeTarball(stageDir: string, version: string, outFile: string): void {
  execFileSync('tar', [
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--use-compress-program=gzip -9n',
    '-C',
    stageDir,
    '-cf',
    outFile,
    artifactNames(version).tarballTop,
  ]);
}

import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SNAPSHOT_COMMANDS } from '../src/cli/snapshot-commands.ts';
import { copyDependencyClosure, type ShippedModule } from './node-modules.ts';
import { AGENT_DIR, NODE_MAJOR, PACKAGING_DIR, REPO_ROOT } from './release-layout.ts';

/** `@NAME@` placeholders of a template in this folder; every one must be given. */
export function renderTemplate(file: string, values: Readonly<Record<string, string | number>>): string {
  return readFileSync(join(PACKAGING_DIR, file), 'utf8').replace(/@([A-Z_]+)@/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: no value for @${name}@`);
    return String(value);
  });
}

/** The production bundle (apps/agent/dist/bin), built afresh by scripts/build.ts. */
export function buildBundle(): void {
  execFileSync('pnpm', ['--filter', '@binfleet/agent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

/**
 * The agent's library folder: its package.json (the agent reads its version from it), the bundle in
 * dist/bin/ (two folders below it, as in the checkout) and node_modules with what the bundle leaves
 * out (dockerode and its dependencies), so the folder runs with no npm install.
 */
export function writeLibrary(libDir: string, version: string): ShippedModule[] {
  mkdirSync(join(libDir, 'dist'), { recursive: true });
  cpSync(join(AGENT_DIR, 'dist/bin'), join(libDir, 'dist/bin'), { recursive: true });
  // The launcher runs the entry with node: its `#!` line (from src/cli/bundle-main.ts) becomes a
  // comment, on the same line so that the source map still fits.
  const entry = join(libDir, 'dist/bin/binfleet-agent.cjs');
  writeFileSync(entry, readFileSync(entry, 'utf8').replace(/^#!.*/, '// run by bin/binfleet-agent'));
  const pkg = {
    name: '@binfleet/agent',
    version,
    private: true,
    type: 'module',
    engines: { node: `>=${NODE_MAJOR}` },
  };
  writeFileSync(join(libDir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  const modules = copyDependencyClosure(AGENT_DIR, ['dockerode'], join(libDir, 'node_modules'));
  normalizeModes(libDir);
  return modules;
}

/** Folders 0755, files 0644: nothing in the library is run directly (node runs the bundle). */
function normalizeModes(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) normalizeModes(path);
    else if (entry.isFile()) chmodSync(path, 0o644);
  }
}

/** bin/binfleet-agent for a tree whose library is `lib` below the launcher's parent folder. */
export function writeLauncher(file: string, lib: string): void {
  const values = { LIB: lib, NODE_MAJOR, SNAPSHOT_CASE: SNAPSHOT_COMMANDS.join('|') };
  writeFileSync(file, renderTemplate('launcher.sh.in', values), { mode: 0o755 });
  chmodSync(file, 0o755);
}

/**
 * The systemd unit for an agent whose launcher is `bin`; `upgradable`: the folder the agent may
 * write its new versions into (the tarball's prefix), none for the .deb (dpkg owns its files).
 */
export function renderUnit(bin: string, docs: string, upgradable?: string): string {
  return renderTemplate('binfleet-agent.service.in', {
    BIN: bin,
    DOCS: docs,
    SELF: upgradable ? ` -${upgradable}` : '',
  });
}

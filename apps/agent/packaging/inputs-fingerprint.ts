import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './release-layout.ts';

/** What the artifacts are made of: the agent, the workspace packages it bundles, the docs it ships, the lockfile. */
const INPUTS = [
  'apps/agent/bin',
  'apps/agent/src',
  'apps/agent/scripts',
  'apps/agent/packaging',
  'apps/agent/package.json',
  'packages/agent-contract/src',
  'packages/arch-table/src',
  'packages/concurrency/src',
  'packages/deb/src',
  'packages/env/src',
  'docs/agent.md',
  'pnpm-lock.yaml',
];

function* inputFiles(path: string): Generator<string> {
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === 'node_modules' || entry.name.endsWith('.test.ts')) continue;
    yield* inputFiles(join(path, entry.name));
  }
}

/** A hash of every input file's path and content: equal means the artifacts would come out the same. */
export function inputsFingerprint(): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of inputFiles(join(REPO_ROOT, input))) {
      hash.update(relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex');
}

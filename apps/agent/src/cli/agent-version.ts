import { readFile } from 'node:fs/promises';

/**
 * This agent's version, from its package.json: two folders up from this module, in the sources
 * (src/cli/) as in the bundle (dist/bin/), which the packages ship with that package.json beside it.
 */
export async function agentVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

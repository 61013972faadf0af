import { readFile } from 'node:fs/promises';

/** Set by the production build (scripts/build.ts): the bundle carries its version. */
declare const BINFLEET_AGENT_VERSION: string | undefined;

/** This agent's version: the bundle's own, or apps/agent/package.json's when run from sources. */
export async function agentVersion(): Promise<string> {
  if (typeof BINFLEET_AGENT_VERSION === 'string') return BINFLEET_AGENT_VERSION;
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

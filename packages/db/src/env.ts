import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseEnv, variable } from '@binfleet/env';
import { z } from 'zod';

/** The folder of a binfleet checkout: it holds prisma.config.ts and pnpm-workspace.yaml. */
export const isCheckout = (dir: string) =>
  existsSync(path.join(dir, 'prisma.config.ts')) && existsSync(path.join(dir, 'pnpm-workspace.yaml'));

const dbEnvSchema = z.object({
  BINFLEET_REPO_ROOT: variable({
    allowed: 'the binfleet checkout: a folder holding prisma.config.ts and pnpm-workspace.yaml',
    parse: (dir) => (isCheckout(path.resolve(dir)) ? path.resolve(dir) : undefined),
  }),
});

/**
 * What this package reads from the environment itself. The database URL is not here: the app's
 * configuration (or a script) passes it in.
 */
export const readDbEnv = (env: NodeJS.ProcessEnv) => parseEnv(dbEnvSchema, env);

/** Checked when the package loads: the checkout is needed from the first import on. */
export const dbEnv = readDbEnv(process.env);

/** The environment of a child process this package starts (the Prisma CLI): this process's, with `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

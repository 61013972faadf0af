import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { REPO } from './paths.ts';
import type { StackInfo } from './stack.ts';

const WEB_DIR = join(REPO, 'apps/web');
/** The registry seed-fleet.ts adds (its host never resolves); e2e code may not import the web app's scripts. */
export const SEED_REGISTRY_URL = 'https://registry.seed.invalid';
const APP_DIR = join(WEB_DIR, 'src/app');

/** A page of the dashboard as the app folder declares it, e.g. `/hosts/[id]`. */
export interface PageRoute {
  readonly pattern: string;
  /** Pages outside the signed-in frame (the sign-in page) are visited signed out. */
  readonly signedOut: boolean;
}

/**
 * Every `page.tsx` under apps/web/src/app, as the route Next serves it: route groups `(x)` leave no
 * trace in the URL. The root page only redirects to /fleet, so it is left out. A page added later is
 * in the list without anyone touching the specs.
 */
export function pageRoutes(): PageRoute[] {
  return readdirSync(APP_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file === 'page.tsx' || file.endsWith(`${sep}page.tsx`))
    .map((file) => {
      const segments = file.split(sep).slice(0, -1);
      const pattern = `/${segments.filter((s) => !/^\(.*\)$/.test(s)).join('/')}`;
      return { pattern, signedOut: !segments.includes('(app)') };
    })
    .filter((r) => r.pattern !== '/')
    .sort((a, b) => a.pattern.localeCompare(b.pattern));
}

/** A route with its dynamic segments (`[id]`) filled from `ids`, keyed by the route's pattern. */
export function fillRoute(pattern: string, ids: Readonly<Record<string, string>>): string {
  if (!pattern.includes('[')) return pattern;
  const id = ids[pattern];
  if (!id) throw new Error(`No seeded id for ${pattern}: say in pages.spec.ts where one comes from.`);
  return pattern.replace(/\[[^\]]+\]/, encodeURIComponent(id));
}

/**
 * Fills the stack's database with the seeded demo fleet (apps/web/scripts/seed-fleet.ts): hosts in every
 * state, jobs, policies, users, a registry with tags and builds.
 */
export function seedDemoFleet(stack: StackInfo, hosts: number): void {
  const run = spawnSync(
    join(WEB_DIR, 'node_modules/.bin/tsx'),
    ['scripts/seed-fleet.ts', '--hosts', String(hosts)],
    {
      cwd: WEB_DIR,
      env: { ...process.env, DATABASE_URL: stack.databaseUrl, BINFLEET_DATA_DIR: stack.dataDir },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (run.status !== 0)
    throw new Error(`seed-fleet failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
}

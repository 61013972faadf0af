import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import { SandboxFleet } from './sandbox-fleet.ts';
import { SCREENSHOTS_DIR } from './paths.ts';
import { stackInfo, type StackInfo } from './stack.ts';

export { expect };

export const ADMIN = { username: 'admin', password: 'e2e-admin-password-1' } as const;
export const VIEWER = { username: 'vera', password: 'e2e-viewer-password-1' } as const;
export const HOSTNAMES = ['e2e-host-1', 'e2e-host-2', 'e2e-host-3'] as const;

export type Shot = (page: Page, name: string, options?: { fullPage?: boolean }) => Promise<void>;

interface WorkerFixtures {
  /** The server global setup started. */
  stack: StackInfo;
  /** Three sandboxed hosts; their agents start when a test joins them with a token. */
  fleet: SandboxFleet;
}

interface TestFixtures {
  /** Saves what the user sees to output/screenshots/<name>.png, once loading indicators are gone. */
  shot: Shot;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  stack: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern.
    async ({}, use) => use(stackInfo()),
    { scope: 'worker' },
  ],
  fleet: [
    async ({ stack }, use) => {
      const fleet = await SandboxFleet.start(stack, HOSTNAMES);
      await use(fleet);
      await fleet.stop();
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ stack }, use) => use(stack.url),
  // eslint-disable-next-line no-empty-pattern -- as above
  shot: async ({}, use) => {
    mkdirSync(SCREENSHOTS_DIR, { recursive: true });
    await use(async (page, name, options = {}) => {
      await expect(page.locator('[aria-busy="true"]:visible, .mantine-Skeleton-root:visible')).toHaveCount(0);
      await page.screenshot({
        path: join(SCREENSHOTS_DIR, `${name}.png`),
        fullPage: options.fullPage ?? false,
      });
    });
  },
});

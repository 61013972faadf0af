import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumExecutable } from '@binfleet/test-sandbox';
import { ADMIN_STATE, OUTPUT_DIR } from './support/paths.ts';
import { linkSystemFfmpegForVideo } from './support/video.ts';

/**
 * The real stack, started once by global setup: `next build` (when sources changed) and `next start`
 * on a throwaway SQLite database (BINFLEET_E2E_DATABASE_URL may name another empty, local one); the
 * tests start three real agents, each in its own kernel binfmt_misc sandbox. The scenarios share that
 * one fleet and build on each other, so they run in order, in one worker. Everything a run leaves
 * (server log, screenshots, and traces and videos of failures) is in output/.
 */
export default defineConfig({
  testDir: '.',
  outputDir: `${OUTPUT_DIR}/test-results`,
  globalSetup: './global-setup.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { outputFolder: `${OUTPUT_DIR}/report`, open: 'never' }]],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: chromiumExecutable(), args: [...CHROMIUM_ARGS] },
    viewport: { width: 1440, height: 900 },
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    video: linkSystemFfmpegForVideo() ? 'retain-on-failure' : 'off',
  },
  projects: [
    { name: 'setup', testMatch: 'auth.setup.ts' },
    {
      name: 'dashboard',
      testMatch: 'specs/*.spec.ts',
      dependencies: ['setup'],
      use: { storageState: ADMIN_STATE },
    },
    // The README's pictures (`pnpm readme-shots`): only when asked, so a test run never rewrites docs/images.
    ...(process.env.BINFLEET_README_SHOTS
      ? [
          {
            name: 'readme',
            testMatch: 'readme/*.shots.ts',
            dependencies: ['setup'],
            use: { storageState: ADMIN_STATE },
          },
        ]
      : []),
  ],
});

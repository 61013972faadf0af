import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumExecutable } from '@binfleet/test-sandbox';
import { ADMIN_STATE, OUTPUT_DIR } from './support/paths.ts';
import { linkSystemFfmpegForVideo } from './support/video.ts';

/**
 * The real stack, started once by global setup: `next build` (when sources changed) and the web server (scripts/serve.ts)
 * on a throwaway SQLite database (BINFLEET_E2E_DATABASE_URL may name another empty, local one); the
 * tests start three real agents, each in its own kernel binfmt_misc sandbox. The scenarios share that
 * one fleet and build on each other, so they run in order, in one worker. Everything a run leaves
 * (server log, screenshots of failures, and with E2E_RECORD=1 their traces and videos) is in output/.
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
    // A trace and a video of every page are recorded while it runs and kept only if it fails: ~20% of
    // each visit's time (pages.spec: /audit 27.5 -> 21.6 s). Asked for with E2E_RECORD=1 when a failure
    // needs more than its screenshot and the server log.
    ...(process.env.E2E_RECORD === '1'
      ? {
          trace: 'retain-on-failure' as const,
          video: linkSystemFfmpegForVideo() ? ('retain-on-failure' as const) : ('off' as const),
        }
      : { trace: 'off' as const, video: 'off' as const }),
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

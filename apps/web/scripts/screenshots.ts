/**
 * Screenshots of every dashboard page, in Debian's Chromium, against a running server filled by
 * seed-fleet.ts: for looking at what a user sees.
 *
 *   pnpm --filter @binfleet/web exec tsx scripts/screenshots.ts [--url http://localhost:3100] [--out DIR]
 *
 * Without --out the pictures go to a new temporary folder, named at the end.
 *
 * Signs in as admin (BINFLEET_ADMIN_USERNAME / BINFLEET_ADMIN_PASSWORD) and as the seeded viewer.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM_ARGS, chromiumExecutable } from '@binfleet/test-sandbox';
import { chromium, type Browser, type Page } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:3100' },
    out: { type: 'string' },
    only: { type: 'string' },
  },
});
const BASE = args.url!;
const OUT = args.out ?? mkdtempSync(path.join(tmpdir(), 'binfleet-screens-'));
const ADMIN = {
  username: process.env.BINFLEET_ADMIN_USERNAME ?? 'admin',
  password: process.env.BINFLEET_ADMIN_PASSWORD ?? 'admin-password-1',
};
const VIEWER = { username: 'victor', password: 'seed-password-1' };

async function signedIn(browser: Browser, who: { username: string; password: string }): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await page.getByLabel('Username').fill(who.username);
  await page.locator('input[autocomplete="current-password"]').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${BASE}/fleet`);
  return page;
}

/** A tRPC query through the page's own session. */
async function query<T>(page: Page, procedure: string, input?: unknown): Promise<T> {
  return page.evaluate(
    async ([p, i]) => {
      const qs = i === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify({ json: i }))}`;
      const res = await fetch(`/api/trpc/${p}${qs}`);
      return (await res.json()).result.data.json;
    },
    [procedure, input] as const,
  ) as Promise<T>;
}

async function settle(page: Page) {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page
    .waitForFunction(
      () => document.querySelectorAll('[aria-busy="true"], .mantine-Skeleton-root').length === 0,
      undefined,
      { timeout: 15_000 },
    )
    .catch(() => undefined);
  await page.waitForTimeout(400);
}

const shots: string[] = [];
async function shot(page: Page, name: string, options: { fullPage?: boolean } = {}) {
  if (args.only && !name.includes(args.only)) return;
  await settle(page);
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
  shots.push(file);
}

async function visit(page: Page, route: string, name: string, options: { fullPage?: boolean } = {}) {
  await page.goto(`${BASE}${route}`);
  await shot(page, name, options);
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({
    executablePath: chromiumExecutable(),
    args: [...CHROMIUM_ARGS],
  });
  try {
    const anonymous = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await visit(anonymous, '/login', '01-login');

    const admin = await signedIn(browser, ADMIN);
    await shot(admin, '02-fleet');
    await shot(admin, '02-fleet-full', { fullPage: true });
    await visit(admin, '/fleet?view=matrix', '03-fleet-matrix-full', { fullPage: true });
    await admin.evaluate(() => window.scrollTo(0, 560));
    await shot(admin, '03-fleet-matrix');
    await visit(admin, '/fleet?online=no&view=matrix&size=25', '04-fleet-offline-matrix');
    await visit(admin, '/fleet?q=no-such-host', '05-fleet-empty-filter');

    // Bulk: select a page, then every matching host, then open reset + register with C.
    await admin.goto(`${BASE}/fleet?group=ci-x86`);
    await settle(admin);
    await admin.getByLabel('Select every host on this page').click();
    await admin.getByRole('button', { name: /Select all .* matching hosts/ }).click();
    await admin.waitForTimeout(600);
    await shot(admin, '06-fleet-bulk-selection');
    await admin.getByRole('button', { name: 'Reset + register' }).click();
    await admin.getByRole('switch', { name: 'Credential (C, implies O)' }).check({ force: true });
    await shot(admin, '07-bulk-reset-register-modal');
    await admin.getByRole('button', { name: 'Review…' }).click();
    await shot(admin, '08-bulk-confirm');
    await admin.keyboard.press('Escape');

    type Row = {
      id: string;
      hostname: string;
      drift: number;
      online: boolean;
      cells: Record<string, { verify?: string }>;
    };
    const rows: Row[] = [];
    for (let offset = 0; offset < 1000; offset += 200) {
      rows.push(
        ...(await query<{ items: Row[] }>(admin, 'fleet.hosts', { filter: {}, offset, limit: 200 })).items,
      );
    }
    // A host with something to show: drift and self-test results.
    const drifted =
      rows.find(
        (h) => h.drift > 0 && h.online && Object.values(h.cells).some((c) => c.verify === 'failed'),
      ) ??
      rows.find((h) => h.drift > 0) ??
      rows[0]!;
    await visit(admin, `/hosts/${drifted.id}`, '09-host', { fullPage: true });
    await admin.getByRole('tab', { name: /Self-tests/ }).click();
    await shot(admin, '10-host-self-tests', { fullPage: true });
    await admin.getByRole('tab', { name: /Interpreters/ }).click();
    await shot(admin, '11-host-interpreters', { fullPage: true });
    await admin.getByRole('tab', { name: /Audit trail/ }).click();
    await shot(admin, '12-host-audit');
    const offline = rows.find((h) => !h.online);
    if (offline) await visit(admin, `/hosts/${offline.id}`, '13-host-offline');

    await visit(admin, '/jobs', '14-jobs', { fullPage: true });
    const jobs = await query<{ items: { id: string; status: string }[] }>(admin, 'jobs.list', { limit: 25 });
    const running = jobs.items.find((j) => j.status === 'running');
    const failed = jobs.items.find((j) => j.status === 'failed');
    if (running) await visit(admin, `/jobs/${running.id}`, '15-job-running', { fullPage: true });
    if (failed) await visit(admin, `/jobs/${failed.id}`, '16-job-failed', { fullPage: true });

    await visit(admin, '/policy', '17-policy', { fullPage: true });
    await visit(admin, '/settings', '18-settings-users');
    await admin.getByRole('tab', { name: 'Join tokens' }).click();
    await admin.getByRole('button', { name: 'Create join token' }).click();
    await admin.getByLabel('Label').fill('ci-runners-march');
    await admin.getByRole('button', { name: 'Create token' }).click();
    await admin.getByText('Copy it now').waitFor();
    await shot(admin, '19-settings-token-created');
    await admin.getByRole('button', { name: 'I have copied it' }).click();
    await shot(admin, '20-settings-tokens');
    await visit(admin, '/audit', '21-audit', { fullPage: true });

    // Builds: the New build dialog with the package as a file on the builder, then as an upload.
    await visit(admin, '/builds', '27-builds');
    await admin.getByRole('button', { name: 'New build' }).first().click();
    await admin.getByRole('dialog', { name: 'New build' }).waitFor();
    await shot(admin, '28-new-build-path');
    await admin.getByText('Upload .debs', { exact: true }).click();
    await shot(admin, '29-new-build-upload');
    await admin.keyboard.press('Escape');
    await visit(admin, '/catalogue', '30-catalogue');

    // A real job through the real runner: the seeded agents do not exist, so rows fail with the reason.
    await admin.goto(`${BASE}/fleet?q=ci-arm-arm64-ams2-00`);
    await settle(admin);
    await admin.getByLabel('Select ci-arm-arm64-ams2-001').check();
    await admin.getByLabel('Select ci-arm-arm64-ams2-002').check();
    await admin.getByRole('button', { name: 'Verify', exact: true }).click();
    await admin.getByRole('button', { name: 'Review…' }).click();
    await admin.getByRole('button', { name: 'Run on 2 hosts' }).click();
    await admin.waitForURL(/\/jobs\/[0-9a-f-]+$/);
    await admin.waitForTimeout(1500);
    await shot(admin, '25-job-live-start');
    await admin.getByText('100%').waitFor({ timeout: 60_000 });
    await shot(admin, '26-job-live-done');

    const viewer = await signedIn(browser, VIEWER);
    await shot(viewer, '22-viewer-fleet');
    await visit(viewer, `/hosts/${drifted.id}`, '23-viewer-host');
    await visit(viewer, '/hosts/does-not-exist', '24-host-not-found');
  } finally {
    await browser.close();
  }
  console.log(shots.join('\n'));
}

main().catch((error: Error) => {
  console.error(`screenshots failed: ${error.message}`);
  process.exit(1);
});

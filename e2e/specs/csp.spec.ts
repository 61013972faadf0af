import type { Page } from '@playwright/test';
import { expect, test } from '../support/fixtures.ts';

// Every page under the real Content-Security-Policy in a real browser: a crawl from the fleet page
// over every same-origin link it finds (bounded), plus each page route with an id that does not exist
// and the sign-in page signed out. Any CSP violation, from a script, style or connection, fails it.
const ROUTES = [
  '/fleet',
  '/jobs',
  '/builds',
  '/catalogue',
  '/policy',
  '/settings',
  '/settings?tab=tokens',
  '/audit',
  '/hosts/00000000-0000-7000-8000-000000000000',
  '/jobs/00000000-0000-7000-8000-000000000000',
  '/builds/00000000-0000-7000-8000-000000000000',
];
const MAX_PAGES = 60;

/** Records violations in the page (the init script runs before any of the page's own). */
async function watchViolations(page: Page): Promise<string[]> {
  const seen: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) seen.push(`console: ${message.text()}`);
  });
  await page.exposeFunction('__reportCspViolation', (text: string) => seen.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __reportCspViolation: (t: string) => void }).__reportCspViolation(
        `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`,
      );
    });
  });
  return seen;
}

async function visit(page: Page, path: string, violations: string[]): Promise<string[]> {
  const before = violations.length;
  const response = await page.goto(path);
  expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self' 'nonce-/);
  await page.waitForLoadState('networkidle');
  // Mantine's color-scheme script ran: it is inline, so only with the nonce.
  await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', 'light');
  for (const v of violations.slice(before)) violations[violations.indexOf(v)] = `${path}: ${v}`;
  const hrefs = await page
    .locator('a[href^="/"]')
    .evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).getAttribute('href')!));
  return hrefs;
}

test('every page renders under the CSP with zero violations (signed in)', async ({ page }) => {
  const violations = await watchViolations(page);
  const queue = [...ROUTES];
  const done = new Set<string>();
  while (queue.length > 0 && done.size < MAX_PAGES) {
    const path = queue.shift()!;
    if (done.has(path)) continue;
    done.add(path);
    for (const href of await visit(page, path, violations))
      if (!done.has(href) && !href.startsWith('/api/') && !href.startsWith('/agent/')) queue.push(href);
  }
  expect(done.size).toBeGreaterThanOrEqual(ROUTES.length);
  expect(violations).toEqual([]);
});

test('the sign-in page renders under the CSP with zero violations (signed out)', async ({ browser }) => {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  const violations = await watchViolations(page);
  await visit(page, '/login', violations);
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  expect(violations).toEqual([]);
  await context.close();
});

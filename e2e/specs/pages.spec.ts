import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from '@playwright/test';
import { expect, test, type Shot } from '../support/fixtures.ts';
import { ADMIN_STATE } from '../support/paths.ts';
import { fillRoute, pageRoutes, SEED_REGISTRY_URL, seedDemoFleet } from '../support/routes.ts';

// Every page the app folder declares, at a desktop and a phone width, in light and dark: axe-core finds
// no serious or critical violation, the phone page does not scroll sideways, and there is one h1. It
// runs over the seeded demo fleet (added to whatever the earlier specs left), so it comes last; the
// registry test at the end removes the seeded registry.

// Four visits a test, each with a full axe run over a page of 60 hosts, on a shared machine.
test.describe.configure({ timeout: 240_000 });

const VIEWPORTS = [
  { name: 'desktop', width: 1440, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;
const SCHEMES = ['light', 'dark'] as const;
/** The WCAG 2.1 A/AA rules whose outcome depends on colours. */
const COLOUR_RULES = ['color-contrast', 'link-in-text-block'];
const ROUTES = pageRoutes();
const ids: Record<string, string> = {};

/** A tRPC query through the page's own session. */
async function query<T>(page: Page, procedure: string, input: unknown): Promise<T> {
  return page.evaluate(
    async ([p, i]) => {
      const res = await fetch(`/api/trpc/${p}?input=${encodeURIComponent(JSON.stringify({ json: i }))}`);
      if (!res.ok) throw new Error(`${p}: HTTP ${res.status}`);
      return (await res.json()).result.data.json;
    },
    [procedure, input] as const,
  ) as Promise<T>;
}

test.beforeAll(async ({ browser, stack }) => {
  // Seeding 60 hosts, a registry and builds takes most of a minute on a busy shared machine.
  test.setTimeout(180_000);
  // Once per run: a failed test restarts the worker, which runs this again.
  if (!existsSync(join(stack.dir, 'demo-fleet-seeded'))) {
    seedDemoFleet(stack, 60);
    writeFileSync(join(stack.dir, 'demo-fleet-seeded'), '');
  }
  const context = await browser.newContext({ storageState: ADMIN_STATE, baseURL: stack.url });
  const page = await context.newPage();
  await page.goto('/fleet');
  type Host = { id: string; drift: number; online: boolean };
  const hosts = (await query<{ items: Host[] }>(page, 'fleet.hosts', { filter: {}, offset: 0, limit: 100 }))
    .items;
  const jobs = (await query<{ items: { id: string; status: string }[] }>(page, 'jobs.list', { limit: 50 }))
    .items;
  const builds = (await query<{ items: { id: string }[] }>(page, 'builds.list', { limit: 10 })).items;
  // The busiest of each: a drifted host, a failed job (rows with reasons), a build with tags.
  ids['/hosts/[id]'] = (hosts.find((h) => h.drift > 0 && h.online) ?? hosts[0])!.id;
  ids['/jobs/[id]'] = (jobs.find((j) => j.status === 'failed') ?? jobs[0])!.id;
  ids['/builds/[id]'] = builds[0]!.id;
  await context.close();
});

async function openPage(
  browser: Browser,
  baseURL: string,
  signedOut: boolean,
  viewport: (typeof VIEWPORTS)[number],
  scheme: (typeof SCHEMES)[number],
) {
  const context = await browser.newContext({
    baseURL,
    viewport: { width: viewport.width, height: viewport.height },
    colorScheme: scheme,
    storageState: signedOut ? { cookies: [], origins: [] } : ADMIN_STATE,
  });
  return { context, page: await context.newPage() };
}

/** Views of a page behind a query string or tab, checked like the pages themselves. */
const VIEWS = ['/fleet?view=matrix', '/settings?tab=tokens'];

/** One page at one width and scheme: one h1, no serious axe violation, no 404, no sideways scroll on a phone. */
async function checkPage(
  browser: Browser,
  baseURL: string,
  path: string,
  signedOut: boolean,
  shotName: string,
  shot: Shot,
) {
  for (const viewport of VIEWPORTS) {
    for (const scheme of SCHEMES) {
      const where = `${path} at ${viewport.width} px, ${scheme}`;
      const { context, page } = await openPage(browser, baseURL, signedOut, viewport, scheme);
      // Anything the page loads that is not there (the favicon, a chunk): a 404 in every tab.
      const missing: string[] = [];
      page.on('response', (r) => {
        if (r.status() === 404 && r.url().startsWith(baseURL)) missing.push(r.url());
      });
      await page.goto(path);
      await expect(page.locator('html'), where).toHaveAttribute('data-mantine-color-scheme', scheme);
      await expect.soft(page.locator('h1'), where).toHaveCount(1);
      await expect(page.locator('[aria-busy="true"]:visible, .mantine-Skeleton-root:visible')).toHaveCount(0);
      await page.waitForLoadState('networkidle');
      // Full-page pictures to look at when asked (docs/development.md): 56 of them slow every run.
      if (process.env.E2E_PAGE_SHOTS)
        await shot(page, `${shotName}-${viewport.width}-${scheme}`, { fullPage: true });

      // The schemes differ in colours only (Mantine swaps CSS variables): every rule in light, the
      // colour rules again in dark (a full run over the seeded fleet's matrix takes over 10 s).
      const axe = await (
        scheme === 'light'
          ? new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
          : new AxeBuilder({ page }).withRules(COLOUR_RULES)
      ).analyze();
      const serious = axe.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map(
          (v) =>
            `${v.id} (${v.impact}): ${v.help} — ${v.nodes
              .map((n) => `${n.html.slice(0, 140)} (${n.failureSummary?.split('\n').at(-1)?.trim() ?? ''})`)
              .slice(0, 5)
              .join(', ')}`,
        );
      expect.soft(serious, where).toEqual([]);
      expect.soft(missing, `${where}: requests answered 404`).toEqual([]);

      if (viewport.width < 500) {
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        // What sticks out: the outermost elements past the right edge, to say where to look.
        const culprits =
          overflow <= 0
            ? ''
            : await page.evaluate(() => {
                const width = document.documentElement.clientWidth;
                const out = [...document.querySelectorAll<HTMLElement>('body *')].filter(
                  (el) => el.getBoundingClientRect().right > width + 1,
                );
                return out
                  .filter((el) => !out.includes(el.parentElement!))
                  .slice(0, 5)
                  .map((el) => `${el.tagName.toLowerCase()}.${el.className} "${el.innerText.slice(0, 40)}"`)
                  .join('; ');
              });
        expect
          .soft(overflow, `${where}: the page scrolls sideways by ${overflow} px (${culprits})`)
          .toBeLessThanOrEqual(0);
      }
      await context.close();
    }
  }
}

const shotName = (path: string) => `pages${path.replace(/[^a-z0-9]+/gi, '-')}`;

for (const route of ROUTES) {
  test(`${route.pattern}: no serious axe violation, one h1, no sideways scroll on a phone, in light and dark`, async ({
    browser,
    stack,
    shot,
  }) => {
    await checkPage(
      browser,
      stack.url,
      fillRoute(route.pattern, ids),
      route.signedOut,
      shotName(route.pattern),
      shot,
    );
  });
}

for (const view of VIEWS) {
  test(`${view}: the same checks`, async ({ browser, stack, shot }) => {
    await checkPage(browser, stack.url, view, false, shotName(view), shot);
  });
}

test('removing a registry asks first, naming what goes, and only the confirm removes it', async ({
  page,
  shot,
}) => {
  await page.goto('/catalogue');
  await page.getByRole('button', { name: 'Registries', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Registries and repositories' });
  const registry = dialog.getByText(SEED_REGISTRY_URL, { exact: true });
  await expect(registry).toBeVisible();
  await dialog.getByRole('button', { name: `Remove ${SEED_REGISTRY_URL}` }).click();
  const confirm = page.getByRole('dialog', { name: 'Remove this registry?' });
  await expect(confirm).toContainText(/and its 1 repository: removes \d+ tags from the catalogue/);
  await shot(page, 'pages-registry-remove-confirm');
  await confirm.getByRole('button', { name: 'Keep it' }).click();
  await expect(confirm).toBeHidden();
  await expect(registry).toBeVisible();

  await dialog.getByRole('button', { name: `Remove ${SEED_REGISTRY_URL}` }).click();
  await confirm.getByRole('button', { name: 'Remove the registry' }).click();
  await expect(confirm).toBeHidden();
  await expect(registry).toBeHidden();
});

test('the route list covers every page the app declares', () => {
  expect(ROUTES.map((r) => r.pattern)).toEqual(
    expect.arrayContaining(['/fleet', '/hosts/[id]', '/jobs/[id]', '/builds/[id]', '/catalogue', '/login']),
  );
});

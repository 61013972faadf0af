import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { HOSTNAMES, expect, test, type Shot } from '../support/fixtures.ts';
import { ADMIN_STATE } from '../support/paths.ts';
import { mutation, query } from '../support/page-trpc.ts';
import { seedDemoFleet } from '../support/routes.ts';

// Looking before changing: the server's dry run (plans.preview) shown where an admin decides. Over the
// seeded demo fleet (offline hosts with missing, extra, disabled and old-flag entries against a fleet
// and a group policy) plus the three sandboxed hosts with real agents (online). Nothing here saves a
// policy or runs a job: every test ends on "Not yet", "Back" or "Discard".
test.describe.configure({ mode: 'serial', timeout: 120_000 });

type Host = { id: string; hostname: string; group: string | null; online: boolean; drift: number | null };
type Cells = Record<string, { state: string }>;

/**
 * With E2E_PAGE_SHOTS=1 (docs/development.md), what the test shows at 1440 and 390 px in light and dark,
 * tall enough for a whole dialog; otherwise one picture as it is.
 */
async function shots(page: Page, shot: Shot, name: string) {
  if (!process.env.E2E_PAGE_SHOTS) return shot(page, name);
  const size = page.viewportSize()!;
  for (const width of [1440, 390]) {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width, height: 1300 });
      await page.emulateMedia({ colorScheme });
      await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', colorScheme);
      await shot(page, `${name}-${width}-${colorScheme}`);
    }
  }
  await page.setViewportSize(size);
  await page.emulateMedia({ colorScheme: 'light' });
}

const everyHost = async (page: Page) =>
  (
    await query<{ items: (Host & { cells: Cells })[] }>(page, 'fleet.hosts', {
      filter: {},
      offset: 0,
      limit: 200,
    })
  ).items;

test.beforeAll(async ({ browser, stack, fleet }) => {
  // Seeding 60 hosts, a registry and builds takes most of a minute on a busy shared machine.
  test.setTimeout(180_000);
  if (!existsSync(join(stack.dir, 'demo-fleet-seeded'))) {
    seedDemoFleet(stack, 60);
    writeFileSync(join(stack.dir, 'demo-fleet-seeded'), '');
  }
  const page = await (await browser.newContext({ storageState: ADMIN_STATE, baseURL: stack.url })).newPage();
  await page.goto('/fleet');
  // Online hosts with real agents: those of the fleet spec when it ran in this worker, else joined here.
  let joined = true;
  try {
    fleet.agent(HOSTNAMES[0]);
  } catch {
    joined = false;
  }
  if (!joined) {
    const created = await mutation<{ token: string }>(page, 'tokens.create', {
      label: 'e2e plans',
      expiresInHours: 1,
      maxUses: 3,
    });
    await fleet.joinAll(`binfleet-agent serve --server ${stack.url} --join-token ${created.token}`);
  }
  await expect(async () => {
    const online = (await everyHost(page)).filter((h) => h.online).map((h) => h.hostname);
    expect(online).toContain(HOSTNAMES[0]);
  }).toPass({ timeout: 30_000 });
  await page.context().close();
});

test("a policy draft's dry run names the hosts it would make drifted before save", async ({ page, shot }) => {
  await page.goto('/fleet');
  const hosts = await everyHost(page);
  const policies = await query<{ groupName: string | null; flags: string; autoHeal: boolean }[]>(
    page,
    'policy.list',
  );
  const ownPolicy = new Set(policies.flatMap((p) => (p.groupName ? [p.groupName] : [])));
  // Hosts the fleet policy governs that match it now: C on the fleet policy changes their flags' drift.
  const inPolicy = hosts.filter((h) => h.drift === 0 && !(h.group && ownPolicy.has(h.group)));
  expect(inPolicy.length).toBeGreaterThan(0);

  await page.goto('/policy');
  const card = page.locator('.mantine-Card-root').filter({ hasText: 'Fleet policy' }).first();
  const dryRun = card.getByTestId('policy-dry-run');
  await expect(dryRun).toBeHidden();
  await card.getByRole('checkbox', { name: /^C · credential/ }).check();
  await expect(dryRun).toContainText(`${inPolicy.length} hosts in policy now would become drifted`);
  const named = card.getByTestId('plan-become-drifted');
  await expect(named).toContainText(`This draft makes ${inPolicy.length} hosts drift from their policy`);
  const listed = (await named.getByRole('listitem').allInnerTexts()).map((t) => t.split(':')[0]!.trim());
  expect(listed.length).toBe(Math.min(10, inPolicy.length));
  for (const hostname of listed) expect(inPolicy.map((h) => h.hostname)).toContain(hostname);
  await expect(named.getByRole('listitem').first()).toContainText('wrong flags');
  await named.scrollIntoViewIfNeeded();
  await shots(page, shot, 'plans-policy-dry-run');
  // Not saved: the dry run is only a look.
  expect((await query<typeof policies>(page, 'policy.list')).find((p) => !p.groupName)?.flags).toBe('F');
  await card.getByRole('button', { name: 'Discard changes' }).click();
  await expect(dryRun).toBeHidden();
});

test('saving a draft with auto-heal asks first, naming how many hosts get a reset', async ({
  page,
  shot,
}) => {
  await page.goto('/policy');
  const card = page.locator('.mantine-Card-root').filter({ hasText: 'Fleet policy' }).first();
  await card.getByRole('switch', { name: 'Auto-heal' }).check({ force: true });
  await expect(card.getByTestId('policy-dry-run')).toContainText(/Auto-heal would queue a reset on \d+/);
  await card.getByRole('button', { name: 'Save policy' }).click();
  const confirm = page.getByRole('dialog', { name: 'Save the fleet policy and heal?' });
  await expect(confirm).toContainText(/queues a reset \+ register with this policy on \d+/);
  await shots(page, shot, 'plans-policy-heal-confirm');
  await confirm.getByRole('button', { name: 'Not yet' }).click();
  await expect(confirm).toBeHidden();
  expect(
    (await query<{ groupName: string | null; autoHeal: boolean }[]>(page, 'policy.list')).find(
      (p) => !p.groupName,
    )?.autoHeal,
  ).toBe(false);
  await card.getByRole('button', { name: 'Discard changes' }).click();
});

test('a single-host reset shows what it removes before it runs', async ({ page, shot }) => {
  await page.goto('/fleet');
  // A host with entries registered: a reset to riscv64 alone takes every other qemu entry away.
  const host = (await everyHost(page)).find((h) =>
    Object.entries(h.cells).some(([t, c]) => c.state === 'registered' && t !== 'riscv64'),
  )!;
  const registered = Object.entries(host.cells)
    .filter(([t, c]) => c.state === 'registered' && t !== 'riscv64')
    .map(([t]) => `qemu-${t}`);
  await page.goto(`/hosts/${host.id}`);
  await page.getByRole('button', { name: 'Reset + register' }).click();
  const dialog = page.getByRole('dialog', { name: `Reset and register · ${host.hostname}` });
  await dialog.getByRole('combobox', { name: 'Targets' }).fill('riscv64');
  await page.getByRole('option', { name: 'riscv64 (linux/riscv64)' }).click();
  await dialog.getByText('Removes every qemu-* entry on the host').click();
  await expect(page.getByRole('option')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Review…' }).click();
  await expect(dialog.getByText(`This runs on ${host.hostname}`)).toBeVisible();
  const changes = dialog.getByTestId('host-changes');
  await expect(changes).toContainText(/Removes \d+ entr(y|ies)/);
  for (const name of registered) await expect(changes).toContainText(name);
  await shots(page, shot, 'plans-host-reset-preview');
  await dialog.getByRole('button', { name: 'Back' }).click();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
});

test('the bulk review splits the selection into online, offline and in policy, and can leave the offline hosts out', async ({
  page,
  shot,
}) => {
  await page.goto('/fleet?size=100');
  const hosts = await everyHost(page);
  const online = hosts.filter((h) => h.online);
  const offline = hosts.filter((h) => !h.online);
  const pick = [...online.slice(0, 2), ...offline.slice(0, 3)];
  expect(pick.filter((h) => h.online).length).toBeGreaterThan(0);
  for (const h of pick) await page.getByLabel(`Select ${h.hostname}`, { exact: true }).check();
  await page.getByRole('button', { name: 'Reset + register' }).click();
  const dialog = page.getByRole('dialog', { name: `Reset and register · ${pick.length} hosts` });
  await dialog.getByText("Use each host's policy").click();
  await dialog.getByRole('button', { name: 'Review…' }).click();
  const split = dialog.getByTestId('plan-split');
  const onlineCount = pick.filter((h) => h.online).length;
  await expect(split.getByLabel(`Online: ${onlineCount}`)).toBeVisible();
  await expect(split.getByLabel(`Offline: ${pick.length - onlineCount}`)).toBeVisible();
  await expect(
    split.getByLabel(`Already in policy: ${pick.filter((h) => h.drift === 0).length}`),
  ).toBeVisible();
  const table = dialog.getByTestId('plan-table');
  for (const h of pick) await expect(table).toContainText(h.hostname);
  await expect(table.locator('tr[data-offline]')).toHaveCount(pick.length - onlineCount);
  await expect(dialog.getByRole('button', { name: `Run on ${pick.length} hosts` })).toBeVisible();
  await dialog
    .getByRole('switch', { name: `Exclude offline hosts (${pick.length - onlineCount})` })
    .check({ force: true });
  await expect(
    dialog.getByRole('button', { name: `Run on ${onlineCount} host${onlineCount === 1 ? '' : 's'}` }),
  ).toBeVisible();
  await shots(page, shot, 'plans-bulk-review');
  await dialog.getByRole('button', { name: 'Back' }).click();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
});

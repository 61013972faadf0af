import { execFileSync } from 'node:child_process';
import { request, type Page } from '@playwright/test';
import { tagVersionOf } from '@binfleet/arch-table';
import { fixtures } from '@binfleet/test-sandbox';
import { BuilderHost, deleteRepositoryManifests, registryDigest } from '../support/builder-host.ts';
import { expect, test } from '../support/fixtures.ts';
import { ADMIN_STATE } from '../support/paths.ts';
import type { StackInfo } from '../support/stack.ts';

// Issue 6: an admin builds the emulator images from Debian's qemu-user-static .deb in the browser,
// watches the build live to success, and finds the image in the catalogue with its pull line. The
// builder is an agent on this machine with the real dockerd; the images go to the real registry.
const REGISTRY = process.env.BINFLEET_REGISTRY || '127.0.0.1:5000';
const RUN = Date.now().toString(36);
/** Unique per run: reruns against the same registry never see an earlier run's tags. */
const REPOSITORY = `binfleet-e2e/build-${RUN}`;
const STEPS = [
  'read package',
  'extract',
  'build register images',
  'build emulator images',
  'test',
  'push',
  'clean up',
];

/** What the build page showed at each change, recorded in the page as it happens. */
interface Sample {
  status: string;
  logLength: number;
  running: string[];
}

test.describe('builds: from a qemu-user-static package to the catalogue', () => {
  test.describe.configure({ mode: 'serial' });

  let builder: BuilderHost | undefined;
  // The package's own version (dpkg's reading of the .deb), and the tag version the scheme makes of it.
  const packageVersion = execFileSync('dpkg-deb', ['--field', fixtures().qemuDeb, 'Version'], {
    encoding: 'utf8',
  }).trim();
  const version = tagVersionOf(packageVersion);
  const pairTag = `x86_64-aarch64-${version}`;

  test.afterAll(async ({ stack }) => {
    // Whatever happened: the agent stopped, its host gone from the fleet (other specs count hosts),
    // the test image and this run's manifests removed.
    if (builder) {
      await builder.stop();
      await removeHostNamed(stack, builder.hostname);
    }
    await deleteRepositoryManifests(REGISTRY, REPOSITORY);
  });

  test('an admin joins a builder host and adds the registry and a repository', async ({
    page,
    stack,
    shot,
  }) => {
    await page.goto('/settings?tab=tokens');
    await page.getByRole('button', { name: 'Create join token' }).click();
    const tokenDialog = page.getByRole('dialog');
    await tokenDialog.getByLabel('Label').fill('e2e builder');
    await tokenDialog.getByLabel('Hosts that may join with it').fill('1');
    await tokenDialog.getByRole('button', { name: 'Create token' }).click();
    const commandLine = tokenDialog.getByTestId('copy-value').first();
    await expect(commandLine).toHaveText(/^binfleet-agent serve --server \S+ --join-token \S+$/);
    const command = await commandLine.innerText();
    await tokenDialog.getByRole('button', { name: 'I have copied it' }).click();
    builder = new BuilderHost(stack, RUN);
    await builder.join(command);

    await page.goto('/catalogue');
    await expect(page.getByRole('heading', { name: 'Catalogue' })).toBeVisible();
    await page.getByRole('button', { name: 'Registries', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Registries and repositories' });
    await dialog.getByLabel('Address').fill(`http://${REGISTRY}`);
    await dialog.getByRole('button', { name: 'Add registry' }).click();
    await expect(dialog.getByText(`http://${REGISTRY}`, { exact: true })).toBeVisible();
    await dialog.getByLabel('Repository name').fill(REPOSITORY);
    await dialog.getByRole('button', { name: 'Add repository' }).click();
    await expect(dialog.getByText(REPOSITORY)).toBeVisible();
    await expect(dialog.getByText('0 tags')).toBeVisible();
    await shot(page, 'builds-01-registries');
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
  });

  test('an admin starts a build in the browser and watches its live log and steps to success', async ({
    page,
    shot,
  }) => {
    test.setTimeout(600_000);
    const host = builder!;
    await page.goto('/builds');
    await page.getByRole('button', { name: 'New build' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'New build' });
    await dialog.getByRole('combobox', { name: 'Builder host' }).click();
    await page
      .getByRole('option', { name: new RegExp(`^${escape(host.hostname)} \\(x86_64, docker `) })
      .click();
    await dialog.getByRole('combobox', { name: 'Push to' }).click();
    await page.getByRole('option', { name: `${REGISTRY}/${REPOSITORY}`, exact: true }).click();
    // "Files on the builder" is the default source of the packages: their paths on the builder host.
    await dialog
      .getByRole('textbox', { name: /^Paths of the \.debs on the builder/ })
      .fill(fixtures().qemuDeb);
    // One emulator keeps the build short; the test image runs the container checks.
    await dialog.getByRole('combobox', { name: 'Emulators' }).fill('aarch64');
    await page.getByRole('option', { name: 'aarch64 (linux/arm64)' }).click();
    // Leaving the field closes its list (it may open upwards, over the field's own description).
    await dialog.getByRole('textbox', { name: 'Test image' }).click();
    await expect(page.getByRole('option')).toHaveCount(0);
    await dialog.getByRole('textbox', { name: 'Test image' }).fill(host.testImage);
    await shot(page, 'builds-02-new-build');

    await dialog.getByRole('button', { name: 'Start build' }).click();
    await expect(page).toHaveURL(/\/builds\/[^/?]+$/);
    await recordBuildPage(page);
    const status = page.getByTestId('build-status');
    const log = page.getByTestId('build-log');
    await expect(status).toHaveText('running', { timeout: 60_000 });
    await expect(page.getByText('live', { exact: true })).toBeVisible();
    await expect(page.getByTestId('step-test')).toContainText('running', { timeout: 300_000 });
    await expect(log).toContainText('==> read package (succeeded)');
    await shot(page, 'builds-03-build-running', { fullPage: true });

    // Waits for the end, whichever it is: a failed build fails the test at once, with what the page says.
    await expect(status).not.toHaveText(/^(queued|running)$/, { timeout: 300_000 });
    if ((await status.innerText()) !== 'succeeded') {
      throw new Error(
        `The build ended ${await status.innerText()}; the page (steps, checks, error, log):\n` +
          (await page.getByRole('main').innerText()),
      );
    }
    await expect(page.getByText('live', { exact: true })).toHaveCount(0);
    // Live, never reloaded: the page showed the build running while its log grew, step after step.
    const samples = await page.evaluate(() => (window as unknown as { samples: Sample[] }).samples);
    const running = samples.filter((s) => s.status === 'running');
    expect(new Set(running.map((s) => s.logLength)).size).toBeGreaterThan(2);
    expect([...new Set(running.flatMap((s) => s.running))]).toEqual(
      expect.arrayContaining(['build emulator images', 'test']),
    );
    expect(samples.at(-1)!.status).toBe('succeeded');

    for (const step of STEPS) await expect(page.getByTestId(`step-${step}`)).toContainText('succeeded');
    await expect(page.getByRole('heading', { name: `qemu-user-static ${packageVersion}` })).toBeVisible();
    await expect(log).toContainText('PASS :register --reset registers qemu-aarch64 without flags');
    await expect(page.getByText('Emulators: aarch64', { exact: false })).toBeVisible();
    const checks = page.getByRole('row').filter({ has: page.getByText(/^(pass|fail|skipped)$/) });
    await expect(checks.first()).toBeVisible();
    await expect(checks.filter({ hasNot: page.getByText('pass', { exact: true }) })).toHaveCount(0);
    // The tag's row in the tags table (a check row names the tag too).
    await expect(
      page.getByRole('row').filter({ hasText: pairTag }).filter({ hasText: 'docker pull' }),
    ).toContainText(`docker pull ${REGISTRY}/${REPOSITORY}:${pairTag}`);
    await shot(page, 'builds-04-build-succeeded', { fullPage: true });
  });

  test('the catalogue finds x86_64-aarch64-<version> by the alias arm64, with its digest, pull and run lines', async ({
    page,
    context,
    stack,
    shot,
  }) => {
    await page.goto('/builds');
    const row = page.getByRole('row').filter({ hasText: `qemu-user-static ${packageVersion}` });
    await expect(row).toContainText('succeeded');
    await expect(row).toContainText(`${REGISTRY}/${REPOSITORY}`);
    await shot(page, 'builds-05-builds-list');
    await row.getByRole('link').click();
    await page.getByRole('link', { name: 'Open the catalogue' }).click();
    await expect(page).toHaveURL(/\/catalogue$/);

    await page.getByRole('combobox', { name: 'Repository' }).click();
    await page.getByRole('option', { name: `${REGISTRY}/${REPOSITORY}`, exact: true }).click();
    const card = page.getByTestId(`version-${version}`);
    await expect(card).toBeVisible();
    await expect(card.getByTestId('tag-register')).toBeVisible();
    await page.getByRole('textbox', { name: 'Architecture' }).fill('arm64');
    // The alias finds the aarch64 images, and only them: the register image is gone.
    await expect(card.getByTestId('tag-register')).toHaveCount(0);
    const tag = card.getByTestId(`tag-${pairTag}`);
    await expect(tag).toBeVisible();
    const rows = card.locator('tbody tr');
    await expect(rows).not.toHaveCount(0);
    await expect(rows.filter({ hasNotText: 'aarch64' })).toHaveCount(0);
    await expect(card.getByRole('link', { name: /^QEMU \d+\.\d+.* · our build$/ })).toBeVisible();

    // The digest is the one the registry itself gives for the tag.
    const digest = await registryDigest(REGISTRY, REPOSITORY, pairTag);
    await expect(tag.getByTestId('tag-digest')).toHaveText(digest.slice(0, 'sha256:'.length + 12));
    await tag.getByTestId('tag-digest').hover();
    await expect(page.getByText(digest, { exact: true })).toBeVisible();

    const pull = `docker pull ${REGISTRY}/${REPOSITORY}:${pairTag}`;
    await expect(tag.getByTestId('tag-pull')).toHaveText(pull);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
    // The tag's line first; the digest-pinned line follows it.
    await tag.getByRole('button', { name: 'Copy the pull command' }).first().click();
    await expect(page.getByText('Copied', { exact: true })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(pull);
    const run = `docker run --rm --privileged ${REGISTRY}/${REPOSITORY}:${version} --reset -p yes`;
    await expect(card.getByText(run, { exact: true })).toBeVisible();
    await card.getByRole('button', { name: 'Copy the register command' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(run);
    await tag.hover();
    await shot(page, 'builds-06-catalogue-arm64', { fullPage: true });
  });

  test('cancelling a build asks first, saying what happens; Back keeps it running', async ({
    page,
    shot,
  }) => {
    test.setTimeout(300_000);
    await page.goto('/builds');
    await page
      .getByRole('link', { name: /qemu-user-static/ })
      .first()
      .click();
    await expect(page.getByTestId('build-status')).toHaveText('succeeded');
    await page.getByRole('button', { name: 'Re-run' }).click();
    await expect(page.getByTestId('build-status')).toHaveText('running', { timeout: 60_000 });
    await page.getByRole('button', { name: 'Cancel build' }).click();
    const confirm = page.getByRole('dialog', { name: 'Cancel this build?' });
    await expect(confirm).toContainText('a build cancelled before it pushes nothing');
    await shot(page, 'builds-05-cancel-confirm');
    await confirm.getByRole('button', { name: 'Back' }).click();
    await expect(confirm).toBeHidden();
    await expect(page.getByTestId('build-status')).toHaveText('running');
    await page.getByRole('button', { name: 'Cancel build' }).click();
    await confirm.getByRole('button', { name: 'Cancel build' }).click();
    await expect(page.getByTestId('build-status')).toHaveText('cancelled', { timeout: 120_000 });
  });
});

/**
 * Records, in the page, the build's status, log length and running steps at every change of the
 * DOM: what a user watching the page saw, without reloading it.
 */
async function recordBuildPage(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { samples: Sample[] };
    w.samples = [];
    const sample = () => {
      const status = document.querySelector('[data-testid="build-status"]')?.textContent ?? '';
      const logLength = document.querySelector('[data-testid="build-log"]')?.textContent?.length ?? 0;
      const running = [...document.querySelectorAll('[data-testid^="step-"]')]
        .filter((step) => step.querySelector('.mantine-Badge-root')?.textContent === 'running')
        .map((step) => step.getAttribute('data-testid')!.slice('step-'.length));
      const last = w.samples.at(-1);
      if (
        !last ||
        last.status !== status ||
        last.logLength !== logLength ||
        last.running.join() !== running.join()
      ) {
        w.samples.push({ status, logLength, running });
      }
    };
    sample();
    new MutationObserver(sample).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
}

/** Removes the builder from the fleet through the API, as the admin (a cleanup, not part of the story). */
async function removeHostNamed(stack: StackInfo, hostname: string): Promise<void> {
  const api = await request.newContext({ baseURL: stack.url, storageState: ADMIN_STATE });
  try {
    const me = (await (await api.get('/api/trpc/auth.me')).json()) as {
      result: { data: { json: { csrf: string } } };
    };
    const builders = (await (await api.get('/api/trpc/builds.builders')).json()) as {
      result: { data: { json: { id: string; hostname: string }[] } };
    };
    for (const host of builders.result.data.json.filter((h) => h.hostname === hostname)) {
      const response = await api.post('/api/trpc/fleet.removeHost', {
        headers: { 'content-type': 'application/json', 'x-binfleet-csrf': me.result.data.json.csrf },
        data: { json: { id: host.id } },
      });
      if (!response.ok())
        throw new Error(`removing ${hostname}: ${response.status()} ${await response.text()}`);
    }
  } finally {
    await api.dispose();
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

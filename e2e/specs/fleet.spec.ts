import type { Locator, Page } from '@playwright/test';
import { HOSTNAMES, VIEWER, expect, test } from '../support/fixtures.ts';

// One fleet story, in order: each scenario starts from what the previous ones left (the hosts that
// joined, the entries registered, the viewer created), as an admin's day would.
test.describe.configure({ mode: 'serial' });

const [HOST_1, HOST_2, HOST_3] = HOSTNAMES;

/** The fields of a kernel entry file (/proc/sys/fs/binfmt_misc/<name>), read without the product's parser. */
function parseKernelEntry(text: string) {
  const field = (re: RegExp) => re.exec(text)?.[1];
  return {
    state: field(/^(enabled|disabled)$/m),
    interpreter: field(/^interpreter (.+)$/m),
    flags: field(/^flags: ?(.*)$/m),
    offset: field(/^offset (\d+)$/m),
    magic: field(/^magic ([0-9a-f]+)$/m),
    mask: field(/^mask ([0-9a-f]+)$/m),
  };
}

/** A table row holding a link with exactly this text (a hostname on the fleet and job pages). */
const rowOf = (page: Page, linkText: string): Locator =>
  page.getByRole('row').filter({ has: page.getByRole('link', { name: linkText, exact: true }) });

const matrixCell = (page: Page, host: string, target: string): Locator =>
  page.locator(`[aria-label^="${host}: qemu-${target} "]`);

test('an admin creates a join token; three agents join with the command the page shows and appear online', async ({
  page,
  stack,
  fleet,
  shot,
}) => {
  await page.goto('/settings?tab=tokens');
  await page.getByRole('button', { name: 'Create join token' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Label').fill('e2e fleet');
  await dialog.getByLabel('Hosts that may join with it').fill('3');
  await dialog.getByRole('button', { name: 'Create token' }).click();
  const commandLine = dialog.getByTestId('copy-value').first();
  await expect(commandLine).toHaveText(/^binfleet-agent serve --server \S+ --join-token \S+$/);
  await shot(page, '03-settings-join-token');
  const command = await commandLine.innerText();
  expect(command).toContain(`--server ${stack.url} `);
  await dialog.getByRole('button', { name: 'I have copied it' }).click();
  await expect(page.getByRole('row', { name: /e2e fleet/ })).toContainText('0 / 3');

  await fleet.joinAll(command);
  for (const host of HOSTNAMES) await fleet.agent(host).waitForLog((l) => l.event === 'joined', 30_000);

  await page.goto('/fleet');
  await expect(page.getByText('3 hosts', { exact: true })).toBeVisible();
  for (const host of HOSTNAMES) {
    const row = rowOf(page, host);
    await expect(row.getByText('online', { exact: true })).toBeVisible();
    await expect(row).toContainText('x86_64');
  }
  await shot(page, '04-fleet-online', { fullPage: true });
  await page.goto('/settings?tab=tokens');
  await expect(page.getByRole('row', { name: /e2e fleet/ })).toContainText('3 / 3');
});

test('reset + register with persistent on two selected hosts: live progress to success, then F on qemu-aarch64 as their kernels have it', async ({
  page,
  fleet,
  shot,
}) => {
  // A fleet policy asking for F: the matrix then calls "registered" only what the kernel has with F.
  await page.goto('/policy');
  await page.getByRole('button', { name: 'Create the fleet policy' }).click();
  await expect(page.getByRole('checkbox', { name: /^F · persistent/ })).toBeChecked();
  await expect(page.getByRole('switch', { name: 'Auto-heal' })).not.toBeChecked();
  // The agents' guard rails, linted before save: C shows its risk, unticking it takes the warning away.
  const lint = page.getByTestId('policy-lint');
  await expect(lint).toBeHidden();
  await page.getByRole('checkbox', { name: /^C · credential/ }).check();
  await expect(lint).toContainText('Credential flag: C (credential) is set');
  await shot(page, '05-policy-lint');
  await page.getByRole('checkbox', { name: /^C · credential/ }).uncheck();
  await expect(lint).toBeHidden();
  await page.getByRole('button', { name: 'Create policy' }).click();
  await expect(page.getByText('3 drifted')).toBeVisible();

  await page.goto('/fleet?view=matrix');
  for (const host of HOSTNAMES)
    await expect(matrixCell(page, host, 'aarch64')).toHaveAttribute('data-state', 'missing');
  await shot(page, '05-fleet-matrix-before', { fullPage: true });

  await page.goto('/fleet');
  await page.getByLabel(`Select ${HOST_1}`).check();
  await page.getByLabel(`Select ${HOST_2}`).check();
  await expect(page.getByText('2 hosts selected')).toBeVisible();
  await page.getByRole('button', { name: 'Reset + register' }).click();
  const dialog = page.getByRole('dialog', { name: 'Reset and register · 2 hosts' });
  await expect(dialog.getByRole('switch', { name: 'Persistent (F)' })).toBeChecked();
  await dialog.getByRole('button', { name: 'Review…' }).click();
  await expect(dialog.getByText('This runs on 2 hosts')).toBeVisible();
  await expect(dialog.getByText('Flags: persistent (F)')).toBeVisible();
  // The dry run, per host: both reported no entries, so the reset adds what the policy wants.
  for (const host of [HOST_1, HOST_2])
    await expect(dialog.getByTestId('plan-table').getByRole('row').filter({ hasText: host })).toContainText(
      /adds \d+ \(qemu-aarch64, /,
    );
  await shot(page, '06-reset-register-confirm');

  // Host 2's agent is frozen until the job page shows the job half done: what follows can only
  // reach the page live, as the page is never reloaded.
  const frozen = fleet.agent(HOST_2).pid;
  process.kill(frozen, 'SIGSTOP');
  try {
    await dialog.getByRole('button', { name: 'Run on 2 hosts' }).click();
    await expect(page).toHaveURL(/\/jobs\/[^/?]+$/);
    await expect(page.getByText('1 of 2 hosts done')).toBeVisible();
    await expect(page.getByTestId('job-status')).toHaveText('running');
    await expect(page.getByText('live', { exact: true })).toBeVisible();
    await expect(rowOf(page, HOST_1)).toContainText('succeeded');
    await expect(rowOf(page, HOST_2)).toContainText('running');
    await shot(page, '07-job-live');
  } finally {
    process.kill(frozen, 'SIGCONT');
  }
  await expect(page.getByTestId('job-status')).toHaveText('succeeded');
  await expect(page.getByText('2 of 2 hosts done')).toBeVisible();
  await expect(page.getByText('100%', { exact: true })).toBeVisible();
  for (const host of [HOST_1, HOST_2]) {
    await expect(rowOf(page, host)).toContainText('succeeded');
    await expect(rowOf(page, host)).toContainText('Done; entries read back from the kernel.');
  }
  await shot(page, '08-job-succeeded');

  // The kernels: F on the two hosts, nothing at all on the third.
  const kernel = [HOST_1, HOST_2].map((host) =>
    parseKernelEntry(fleet.kernelEntry(host, 'qemu-aarch64') ?? ''),
  );
  for (const entry of kernel)
    expect(entry).toMatchObject({
      state: 'enabled',
      flags: 'F',
      interpreter: '/usr/bin/qemu-aarch64-static',
    });
  expect(fleet.kernelFiles(HOST_3)).toEqual(['register', 'status']);

  await page.goto('/fleet?view=matrix');
  await expect(matrixCell(page, HOST_1, 'aarch64')).toHaveAttribute('data-state', 'registered');
  await expect(matrixCell(page, HOST_2, 'aarch64')).toHaveAttribute('data-state', 'registered');
  await expect(matrixCell(page, HOST_3, 'aarch64')).toHaveAttribute('data-state', 'missing');
  await expect(page.locator(`[aria-label^="${HOST_3}: qemu-"]:not([data-state="missing"])`)).toHaveCount(0);
  await shot(page, '09-fleet-matrix-after', { fullPage: true });

  // The host page shows the kernel's own entry, field by field.
  for (const [i, host] of [HOST_1, HOST_2].entries()) {
    await page.goto('/fleet');
    await page.getByRole('link', { name: host, exact: true }).click();
    await expect(page.getByRole('heading', { name: host })).toBeVisible();
    await expect(page.getByText('in policy', { exact: true })).toBeVisible();
    const cells = page
      .getByRole('row')
      .filter({ has: page.getByText('qemu-aarch64', { exact: true }) })
      .getByRole('cell');
    const { state, flags, interpreter, offset, magic, mask } = kernel[i]!;
    await expect(cells).toHaveText([`qemu-aarch64`, state!, flags!, interpreter!, offset!, magic!, mask!]);
    if (i === 0) await shot(page, '10-host-entries', { fullPage: true });
  }
  await page.goto('/fleet');
  await page.getByRole('link', { name: HOST_3, exact: true }).click();
  await expect(page.getByRole('heading', { name: HOST_3 })).toBeVisible();
  await expect(page.getByRole('tab', { name: /Kernel entries/ })).toContainText('0');
});

test('verify on a host: arm64 passes and printed aarch64', async ({ page, shot }) => {
  await page.goto('/fleet');
  await page.getByRole('link', { name: HOST_1, exact: true }).click();
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Verify emulation · ${HOST_1}` });
  await dialog.getByRole('combobox', { name: 'Targets' }).fill('aarch64');
  await page.getByRole('option', { name: 'aarch64 (linux/arm64)' }).click();
  // The picker stays open for more targets; a click beside it closes it.
  await dialog.getByText('Empty: every target registered on the host.').click();
  await expect(page.getByRole('option')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Run now' }).click();

  await expect(page).toHaveURL(/\/jobs\/[^/?]+$/);
  await expect(page.getByTestId('job-status')).toHaveText('succeeded');
  await expect(rowOf(page, HOST_1)).toContainText('succeeded');
  await shot(page, '11-job-verify');

  // Straight from the job to the host: the result shows at once, not after the page's next poll.
  await rowOf(page, HOST_1).getByRole('link', { name: HOST_1 }).click();
  await page.getByRole('tab', { name: /Self-tests/ }).click();
  const probe = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'probe', exact: true }) });
  await expect(probe.getByRole('cell')).toHaveText(
    ['aarch64', 'probe', 'passed', 'aarch64', /^\d+(\.\d)? m?s$/, /ago|just now/],
    { timeout: 5_000 },
  );
  await shot(page, '12-host-self-tests', { fullPage: true });

  await page.goto('/fleet?view=matrix');
  await expect(matrixCell(page, HOST_1, 'aarch64')).toHaveAttribute('data-verify', 'passed');
});

test('a viewer created in Settings sees everything, has no action buttons, and a crafted job request is refused', async ({
  page,
  browser,
  stack,
  shot,
}) => {
  await page.goto('/settings');
  // The modal's × is found by its name, as a screen reader announces it, and closes the modal.
  await page.getByRole('button', { name: 'Add user' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add user' });
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(dialog).toBeHidden();
  await page.getByRole('button', { name: 'Add user' }).click();
  await dialog.getByLabel('Username').fill(VIEWER.username);
  await dialog.getByLabel('Initial password').fill(VIEWER.password);
  await expect(dialog.getByLabel('Role')).toHaveValue(/^viewer/);
  await dialog.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('row', { name: new RegExp(VIEWER.username) })).toContainText('active');
  await shot(page, '13-settings-users');

  // A context of its own, without the admin's saved session the project gives every context.
  const context = await browser.newContext({
    baseURL: stack.url,
    viewport: { width: 1440, height: 900 },
    storageState: { cookies: [], origins: [] },
  });
  try {
    const viewer = await context.newPage();
    await viewer.goto('/login');
    await viewer.getByLabel('Username').fill(VIEWER.username);
    await viewer.getByRole('textbox', { name: 'Password', exact: true }).fill(VIEWER.password);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await expect(viewer).toHaveURL(/\/fleet$/);
    await expect(viewer.getByTestId('signed-in-user')).toHaveText(VIEWER.username);
    await expect(viewer.getByTestId('signed-in-role')).toHaveText('viewer');

    // Everything is visible; nothing can be selected or run.
    for (const host of HOSTNAMES) await expect(rowOf(viewer, host)).toBeVisible();
    // (The "Drifted only" and "Needs attention" filter chips are checkboxes too: they select no host.)
    await expect(viewer.getByRole('checkbox', { name: /^Select / })).toHaveCount(0);
    await expect(viewer.getByRole('checkbox')).toHaveCount(2);
    await expect(viewer.getByRole('link', { name: 'Settings' })).toHaveCount(0);
    await shot(viewer, '14-viewer-fleet', { fullPage: true });

    await viewer.getByRole('link', { name: HOST_1, exact: true }).click();
    await expect(viewer.getByRole('heading', { name: HOST_1 })).toBeVisible();
    await expect(
      viewer.getByRole('row').filter({ has: viewer.getByText('qemu-aarch64', { exact: true }) }),
    ).toContainText('F');
    for (const name of ['Verify', 'Reset + register', 'More', 'Change group', 'More host actions']) {
      await expect(viewer.getByRole('button', { name, exact: true })).toHaveCount(0);
    }
    await shot(viewer, '15-viewer-host');

    await viewer.goto('/jobs');
    await viewer
      .getByRole('link', { name: /Reset and register/ })
      .first()
      .click();
    await expect(viewer.getByTestId('job-status')).toHaveText('succeeded');
    await expect(viewer.getByRole('button', { name: /Cancel job|Run again/ })).toHaveCount(0);
    await shot(viewer, '16-viewer-job');

    // What a tampered page could send: the session cookie and its CSRF secret, to an operator procedure.
    const attempt = await viewer.evaluate(async () => {
      const me = (await (await fetch('/api/trpc/auth.me')).json()) as {
        result: { data: { json: { csrf: string } } };
      };
      const response = await fetch('/api/trpc/jobs.create', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-binfleet-csrf': me.result.data.json.csrf },
        body: JSON.stringify({ json: { params: { kind: 'verify' }, selection: { all: true } } }),
      });
      const jobs = (await (
        await fetch('/api/trpc/jobs.list?input=' + encodeURIComponent('{"json":{}}'))
      ).json()) as {
        result: { data: { json: { items: unknown[] } } };
      };
      return {
        status: response.status,
        body: await response.text(),
        jobs: jobs.result.data.json.items.length,
      };
    });
    expect(attempt.status).toBe(403);
    expect(attempt.body).toContain('This needs the operator role; you are viewer.');
    expect(attempt.jobs).toBe(2);
  } finally {
    await context.close();
  }
});

test('a stopped agent: its host turns offline, and a job on it fails with a plain reason', async ({
  page,
  fleet,
  shot,
}) => {
  await fleet.agent(HOST_3).stop();
  await page.goto('/fleet');
  await page.getByRole('link', { name: HOST_3, exact: true }).click();
  await expect(page.getByRole('heading', { name: HOST_3 })).toBeVisible();
  // The page refreshes every 15 s by itself; a reload shows the change as soon as the server sees it.
  await expect(async () => {
    await page.reload();
    await expect(page.getByText('offline', { exact: true })).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByText(/Not reporting · last seen/)).toBeVisible();
  await shot(page, '17-host-offline');

  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await page
    .getByRole('dialog', { name: `Verify emulation · ${HOST_3}` })
    .getByRole('button', { name: 'Run now' })
    .click();
  await expect(page).toHaveURL(/\/jobs\/[^/?]+$/);
  await expect(page.getByTestId('job-status')).toHaveText('failed', { timeout: 30_000 });
  const row = rowOf(page, HOST_3);
  await expect(row).toContainText('failed');
  await expect(row).toContainText(
    new RegExp(
      `The agent on ${HOST_3} at http://127\\.0\\.0\\.1:\\d+ is unreachable \\(ECONNREFUSED\\): check that binfleet-agent is running there`,
    ),
  );
  await expect(page.getByRole('button', { name: 'Run again on 1 failed host' })).toBeVisible();
  await shot(page, '18-job-failed');
});

test('the audit log lists what was done, and filtering by action narrows it', async ({ page, shot }) => {
  await page.goto('/audit');
  const actions = page.getByTestId('audit-action');
  await expect(actions.first()).toBeVisible();
  const all = await actions.allInnerTexts();
  const count = (action: string) => all.filter((a) => a === action).length;
  expect(count('auth.setup')).toBe(1);
  // Other specs (builds) create tokens and join hosts of their own: count this story's.
  const rowsOf = (action: string) =>
    page.getByRole('row').filter({ has: page.getByText(action, { exact: true }) });
  await expect(rowsOf('join-token.create').filter({ hasText: 'e2e fleet' })).toHaveCount(1);
  for (const host of HOSTNAMES) {
    await expect(rowsOf('host.join').filter({ hasText: host })).toHaveCount(1);
  }
  expect(count('policy.set')).toBe(1);
  expect(count('job.reset-register')).toBe(1);
  expect(count('job.verify')).toBe(2);
  // Each job's outcome, once, as the system recorded it when the job ended.
  expect(count('job.finished')).toBe(3);
  expect(count('user.create')).toBe(1);
  expect(count('auth.denied')).toBe(1);
  const denied = rowsOf('auth.denied');
  await expect(denied).toContainText(VIEWER.username);
  await expect(denied).toContainText('denied');
  await shot(page, '19-audit', { fullPage: true });

  await page.getByLabel('Action').fill('job.');
  await expect(actions).toHaveCount(6);
  const jobActions = await actions.allInnerTexts();
  expect(jobActions.filter((a) => a !== 'job.finished')).toEqual([
    'job.verify',
    'job.verify',
    'job.reset-register',
  ]);
  await expect(rowsOf('job.finished').filter({ hasText: '1 failed' })).toContainText(HOST_3);
  const failedVerify = page
    .getByRole('row')
    .filter({ has: page.getByText('job.verify', { exact: true }) })
    .first();
  await expect(failedVerify).toContainText(HOST_3);
  await shot(page, '20-audit-filtered');
});

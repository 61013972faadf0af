import { join } from 'node:path';
import { joinTestNetwork } from '@binfleet/test-sandbox';
import { expect, test } from '../support/fixtures.ts';

/**
 * A host on another network: a network namespace of this test's own on the stack's test network
 * (its own address, hostname and binfmt_misc). The admin copies the line the page shows; the host
 * runs it (as root already, so without sudo), which installs the agent the control plane serves
 * into a prefix of its own (the namespaces share this machine's files); the agent joins and is
 * reached at the host's address.
 */
test('an admin adds a host on another network with the one line the page shows', async ({
  page,
  stack,
  shot,
}) => {
  // Hosts numbered from 100 on: the stack's network is shared with whatever else adds hosts to it.
  const network = joinTestNetwork(stack.network, 100);
  try {
    const host = await network.addHost('edge-e2e-1');
    await page.goto('/fleet');
    const dialog = page.getByRole('dialog');
    // Until the page has hydrated, a click opens nothing: click again until the dialog is there.
    await expect(async () => {
      await page.getByRole('button', { name: 'Add host' }).click();
      await expect(dialog).toBeVisible({ timeout: 2_000 });
    }).toPass({ timeout: 30_000 });
    await dialog.getByLabel('Label').fill('edge-e2e-1');
    await dialog.getByRole('button', { name: 'Make the install line' }).click();
    const lineBox = dialog.getByTestId('install-line');
    // Dial-out by default: the host needs no inbound port.
    await expect(lineBox).toHaveText(
      /^curl -fsSL \S+\/agent\/install\.sh \| sudo sh -s -- --code bfj_\S+ --dial-out$/,
    );
    const line = await lineBox.innerText();
    // The public URL (BINFLEET_PUBLIC_URL: the test network's gateway), not the browser's 127.0.0.1.
    expect(line).toContain(`${stack.publicUrl}/agent/install.sh`);
    await expect(dialog.getByText('Other hosts may not reach this address')).toHaveCount(0);
    await shot(page, '20-add-host-line');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '20-add-host-line-phone');
    await page.setViewportSize({ width: 1440, height: 900 });

    const prefix = join(stack.dir, 'edge-e2e-1');
    const result = await host.sandbox.exec(
      'sh',
      ['-c', `${line.replace('| sudo sh', '| sh')} --prefix ${prefix}`],
      {
        timeoutMs: 120_000,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('joined');
    await dialog.getByRole('button', { name: 'Done' }).click();

    await page.goto('/fleet');
    const row = page
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: 'edge-e2e-1', exact: true }) });
    await expect(row.getByText('online', { exact: true })).toBeVisible();
    await row.getByRole('link', { name: 'edge-e2e-1', exact: true }).click();
    await expect(page.getByText('dials out (no inbound port)')).toBeVisible();
    expect(host.listeningSockets()).toEqual([]);
    await shot(page, '21-installed-host');
  } finally {
    await network.stop();
  }
});

import { ADMIN, expect, test as setup } from './support/fixtures.ts';
import { ADMIN_STATE } from './support/paths.ts';

// A fresh install has no account: the first visitor creates the admin, and every later spec starts
// signed in as that admin from the saved browser state.
setup('first-run setup creates the admin in the browser', async ({ page, shot }) => {
  await page.goto('/fleet');
  await expect(page).toHaveURL(/\/login\?next=%2Ffleet$/);
  await expect(page.getByRole('heading', { name: 'First-run setup' })).toBeVisible();
  await shot(page, '01-first-run-setup');

  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(ADMIN.password);
  await page.getByRole('textbox', { name: 'Repeat the password' }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();

  await expect(page).toHaveURL(/\/fleet$/);
  await expect(page.getByTestId('signed-in-user')).toHaveText(ADMIN.username);
  await expect(page.getByTestId('signed-in-role')).toHaveText('admin');
  await expect(page.getByRole('heading', { name: 'Join your first host' })).toBeVisible();
  await shot(page, '02-fleet-empty');
  await page.context().storageState({ path: ADMIN_STATE });
});

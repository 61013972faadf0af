import { join, resolve } from 'node:path';

export const E2E_DIR = resolve(import.meta.dirname, '..');
export const REPO = resolve(E2E_DIR, '..');
/** Everything a run leaves behind (gitignored): logs, screenshots, traces, videos, the report. */
export const OUTPUT_DIR = join(E2E_DIR, 'output');
export const SCREENSHOTS_DIR = join(OUTPUT_DIR, 'screenshots');
/** The admin's signed-in browser state, saved by the setup project. */
export const ADMIN_STATE = join(OUTPUT_DIR, '.auth/admin.json');

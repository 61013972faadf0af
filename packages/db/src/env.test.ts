import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDbEnv } from './env.ts';
import { REPO_ROOT } from './paths.ts';

describe('readDbEnv', () => {
  it('takes the checkout from BINFLEET_REPO_ROOT, made absolute, or leaves it to be found', () => {
    expect(readDbEnv({}).BINFLEET_REPO_ROOT).toBeUndefined();
    expect(readDbEnv({ BINFLEET_REPO_ROOT: '' }).BINFLEET_REPO_ROOT).toBeUndefined();
    const relative = path.relative(process.cwd(), REPO_ROOT) || '.';
    expect(readDbEnv({ BINFLEET_REPO_ROOT: relative }).BINFLEET_REPO_ROOT).toBe(REPO_ROOT);
  });

  it('refuses a folder that is not a checkout, naming it', () => {
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'binfleet-not-a-checkout-'));
    expect(() => readDbEnv({ BINFLEET_REPO_ROOT: elsewhere })).toThrow(
      `BINFLEET_REPO_ROOT="${elsewhere}" is not valid: the binfleet checkout: a folder holding prisma.config.ts and pnpm-workspace.yaml`,
    );
  });
});

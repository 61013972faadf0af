import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlaneProcess } from './testing/control-plane-process.ts';

describe('the control plane process with a variable that is not valid', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-bad-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stops at start with a message naming the variable, its value and what is allowed', async () => {
    const started = startControlPlaneProcess({
      DATABASE_URL: `file:${join(dir, 'binfleet.db')}`,
      BINFLEET_DATA_DIR: dir,
      BINFLEET_RUNNER_CONCURRENCY: 'abc',
    });
    await expect(started).rejects.toThrow(/control plane exited with 1/);
    await expect(started).rejects.toThrow(
      '\nbinfleet: BINFLEET_RUNNER_CONCURRENCY="abc" is not valid: a whole number >= 1\n',
    );
    // Stopped before anything was set up: no database, no key.
    expect(await readdir(dir)).toEqual([]);
  });
});

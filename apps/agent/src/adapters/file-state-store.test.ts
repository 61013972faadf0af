import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { desiredState } from '../services/desired-state.ts';
import { FileStateStore } from './file-state-store.ts';

describe('FileStateStore', () => {
  let dir: string;
  let store: FileStateStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-state-'));
    store = new FileStateStore(join(dir, 'agent'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const state = desiredState({ targets: ['aarch64', 's390x'], disabled: ['s390x'], persistent: true });

  it('has nothing before the first write', async () => {
    expect(await store.readDesired()).toBeUndefined();
    expect(await store.readTokenHashes()).toBeUndefined();
  });

  it('keeps the desired state and the token hash, root-only, with no temporary file left', async () => {
    await store.writeDesired(state);
    await store.writeTokenHashes({ hash: 'a'.repeat(64) });
    expect(await store.readDesired()).toEqual(state);
    expect(await store.readTokenHashes()).toEqual({ hash: 'a'.repeat(64) });
    expect(((await stat(store.desiredFile)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(store.tokenFile)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(store.dir)).mode & 0o777).toString(8)).toBe('700');
    expect((await readdir(store.dir)).sort()).toEqual(['desired-state.json', 'token-hash.json']);
  });

  it('does not rewrite an unchanged state', async () => {
    await store.writeDesired(state);
    const written = (await stat(store.desiredFile)).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.writeDesired(
      desiredState({ targets: ['aarch64', 's390x'], disabled: ['s390x'], persistent: true }),
    );
    expect((await stat(store.desiredFile)).mtimeMs).toBe(written);
  });

  it('reads a state changed behind its back, once it has read (and kept) the one before', async () => {
    await store.writeDesired(state);
    expect(await store.readDesired()).toEqual(state);
    const edited = desiredState({ targets: ['riscv64'], persistent: true });
    await writeFile(
      store.desiredFile,
      JSON.stringify({ version: 1, updatedAt: new Date().toISOString(), state: edited }),
    );
    expect(await store.readDesired()).toEqual(edited);
    await rm(store.desiredFile);
    expect(await store.readDesired()).toBeUndefined();
  });

  it('replaces the file as a whole', async () => {
    await store.writeDesired(state);
    const next = desiredState({ targets: ['riscv64'] });
    await store.writeDesired(next);
    expect(await store.readDesired()).toEqual(next);
    expect(JSON.parse(await readFile(store.desiredFile, 'utf8'))).toMatchObject({ version: 1, state: next });
  });

  it.each([
    ['truncated JSON', '{"version": 1, "state": {"targ', /not JSON/],
    [
      'an unknown target',
      JSON.stringify({ version: 1, updatedAt: new Date().toISOString(), state: { targets: ['pdp11'] } }),
      /targets/,
    ],
    [
      'a register-line injection',
      JSON.stringify({
        version: 1,
        updatedAt: new Date().toISOString(),
        state: { targets: [], interpreterDir: '/usr/bin:x' },
      }),
      /interpreterDir/,
    ],
    [
      'another version',
      JSON.stringify({ version: 2, updatedAt: new Date().toISOString(), state: { targets: [] } }),
      /version/,
    ],
  ])('reports %s as STATE_CORRUPT, saying which file and what to do', async (_, text, why) => {
    await store.writeDesired(state);
    await writeFile(store.desiredFile, text);
    const error = await store.readDesired().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'STATE_CORRUPT',
      message: expect.stringContaining(store.desiredFile),
    });
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).toMatch(/delete it and apply again/);
  });

  it('refuses to keep something that is not a SHA-256', async () => {
    await expect(store.writeTokenHashes({ hash: 'secret-token' })).rejects.toThrow();
    expect(await store.readTokenHashes()).toBeUndefined();
  });

  it('keeps the hash a rotation replaced beside the new one, and drops it when told', async () => {
    await store.writeTokenHashes({ hash: 'b'.repeat(64), previousHash: 'a'.repeat(64) });
    expect(await store.readTokenHashes()).toEqual({ hash: 'b'.repeat(64), previousHash: 'a'.repeat(64) });
    await store.writeTokenHashes({ hash: 'b'.repeat(64) });
    expect(await store.readTokenHashes()).toEqual({ hash: 'b'.repeat(64) });
  });
});

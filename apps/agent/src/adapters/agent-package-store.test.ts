import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DiskPackageStore } from '@binfleet/deb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import { AgentPackageStore } from './agent-package-store.ts';

// The API turns only AgentErrors into its answers (400/413, tRPC codes): the store's refusals must be ones.
describe('AgentPackageStore', () => {
  let dir: string;
  let store: AgentPackageStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-agent-packages-'));
    store = new AgentPackageStore(new DiskPackageStore(dir, 64));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses with AgentErrors of the same code and message', async () => {
    const refusal = (code: string, message: RegExp) =>
      expect.objectContaining({ code, message: expect.stringMatching(message) });
    expect(() => store.pathOf('../x')).toThrow(AgentError);
    expect(() => store.pathOf('../x')).toThrow(refusal('INVALID_INPUT', /64 lower-case hex digits/));
    const missing = store.require('f'.repeat(64));
    await expect(missing).rejects.toBeInstanceOf(AgentError);
    await expect(missing).rejects.toEqual(refusal('INVALID_PACKAGE', /No package f{64} on this builder/));
    const text = store.receive(Readable.from([Buffer.from('#!/bin/sh\n'.repeat(4))]));
    await expect(text).rejects.toBeInstanceOf(AgentError);
    await expect(text).rejects.toEqual(refusal('INVALID_PACKAGE', /no Debian package/));
    const large = store.receive(Readable.from([Buffer.alloc(65)]));
    await expect(large).rejects.toBeInstanceOf(AgentError);
    await expect(large).rejects.toEqual(refusal('TOO_LARGE', /larger than the 64 bytes/));
  });

  it('passes the rest through: an upload cut on the way stays the error it was', async () => {
    const cut = new AgentError('INVALID_PACKAGE', 'The upload was cut before its end: send it again.');
    const body = Readable.from(
      (async function* () {
        yield Buffer.from('!<arch>\n');
        throw cut;
      })(),
    );
    await expect(store.receive(body)).rejects.toBe(cut);
    expect(store.maxBytes).toBe(64);
    expect(await store.get('0'.repeat(64))).toBeUndefined();
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tarStream } from './tar-stream.ts';

// GNU tar is the reference reader: what it lists and extracts is what dockerd gets.
describe('tarStream', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tar-stream-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes files, directories and symlinks that tar reads back byte for byte', async () => {
    const big = Buffer.alloc(70_000, 7);
    writeFileSync(join(dir, 'big.bin'), big);
    const longName = `${'d'.repeat(90)}/${'f'.repeat(60)}`;
    const archive = await buffer(
      tarStream(
        [
          { type: 'file', name: 'Dockerfile', data: 'FROM scratch\n' },
          { type: 'dir', name: 'rootfs/bin' },
          { type: 'file', name: 'rootfs/bin/busybox', path: join(dir, 'big.bin'), mode: 0o755 },
          { type: 'symlink', name: 'rootfs/bin/sh', target: 'busybox' },
          { type: 'file', name: longName, data: 'x' },
        ],
        1_700_000_000,
      ),
    );
    expect(archive.length % 512).toBe(0);
    const listing = spawnSync('tar', ['-tvf', '-'], { input: archive, encoding: 'utf8' });
    expect(listing.status, listing.stderr).toBe(0);
    const lines = listing.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^-rw-r--r-- root\/root\s+13 2023-11-1\d \d\d:\d\d Dockerfile$/);
    expect(lines[1]).toMatch(/^drwxr-xr-x root\/root\s+0 .* rootfs\/bin\/$/);
    expect(lines[2]).toMatch(/^-rwxr-xr-x root\/root\s+70000 .* rootfs\/bin\/busybox$/);
    expect(lines[3]).toMatch(/^lrwxrwxrwx root\/root\s+0 .* rootfs\/bin\/sh -> busybox$/);
    expect(lines[4]).toContain(longName);

    const out = join(dir, 'out');
    spawnSync('mkdir', [out]);
    expect(spawnSync('tar', ['-xf', '-', '-C', out], { input: archive }).status).toBe(0);
    expect(readFileSync(join(out, 'rootfs/bin/busybox')).equals(big)).toBe(true);
    expect(readFileSync(join(out, 'Dockerfile'), 'utf8')).toBe('FROM scratch\n');
  });

  it('gives the same bytes for the same inputs', async () => {
    const make = () => buffer(tarStream([{ type: 'file', name: 'a', data: 'same' }]));
    expect((await make()).equals(await make())).toBe(true);
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeEscapes,
  matchesMagic,
  matchTargets,
  parseRegisterLine,
  resolveArch,
  type TargetId,
} from './index.ts';

// Independent references: real static binaries built by Debian for each architecture, and Debian's
// own binfmt.d files from qemu-user-static. Neither comes from our table.
const FIXTURES = process.env.BINFLEET_FIXTURES ?? '/var/cache/binfleet/fixtures';
const BUSYBOX_DIR = `${FIXTURES}/busybox`;
const DEBIAN_BINFMT_DIR = '/usr/lib/binfmt.d';

function header(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path).subarray(0, 128));
}

const realBinaries: { name: string; path: string; expected: TargetId }[] = [];
if (existsSync(BUSYBOX_DIR)) {
  for (const debianArch of readdirSync(BUSYBOX_DIR).sort()) {
    const expected = resolveArch(debianArch)[0]!;
    realBinaries.push({
      name: `busybox-static:${debianArch}`,
      path: `${BUSYBOX_DIR}/${debianArch}/busybox`,
      expected,
    });
  }
}
for (const path of ['/bin/ls', '/usr/bin/qemu-aarch64-static']) {
  realBinaries.push({ name: `${path} (this x86_64 machine)`, path, expected: 'x86_64' });
}

describe('real foreign binaries', () => {
  it('has the Debian busybox-static fixtures (run bash scripts/test-deps.sh)', () => {
    expect(realBinaries.map((b) => b.expected)).toEqual(
      expect.arrayContaining(['aarch64', 'arm', 'i386', 'ppc64le', 's390x', 'riscv64', 'mips64el', 'x86_64']),
    );
  });

  it.each(realBinaries)('$name matches $expected and nothing else', ({ path, expected }) => {
    expect(matchTargets(header(path))).toEqual([expected]);
  });
});

describe("Debian's qemu-user-static binfmt.d entries", () => {
  const debianEntries = readdirSync(DEBIAN_BINFMT_DIR)
    .filter((f) => /^qemu-.*\.conf$/.test(f))
    .map((f) => parseRegisterLine(readFileSync(`${DEBIAN_BINFMT_DIR}/${f}`, 'utf8').trim()))
    .filter((spec) => spec.type === 'M');

  it('are there to compare with (apt-get install qemu-user-static)', () => {
    expect(debianEntries.length).toBeGreaterThan(25);
  });

  it.each(realBinaries)('accept $name exactly where our table does', ({ path }) => {
    const h = header(path);
    const ours = new Set<string>(matchTargets(h));
    for (const spec of debianEntries) {
      if (spec.type !== 'M') continue;
      const target = spec.name.replace(/^qemu-/, '');
      const debianAccepts = matchesMagic(h, {
        offset: spec.offset,
        magic: decodeEscapes(spec.magic),
        ...(spec.mask ? { mask: decodeEscapes(spec.mask) } : {}),
      });
      // Debian has a few entries qemu's script does not (cris); compare the ones both have.
      if (!resolveSafe(target)) continue;
      expect(debianAccepts, `${spec.name} on ${path}`).toBe(ours.has(target));
    }
  });
});

function resolveSafe(name: string): boolean {
  try {
    return resolveArch(name).includes(name as TargetId);
  } catch {
    return false;
  }
}

import { describe, expect, it } from 'vitest';
import { changesLine, driftLine } from './plan-lines.ts';

const host = (over: Partial<Parameters<typeof changesLine>[0]> = {}): Parameters<typeof changesLine>[0] => ({
  id: 'h',
  hostname: 'h',
  group: null,
  online: true,
  added: [],
  removed: [],
  changed: [],
  driftBefore: 0,
  driftAfter: 0,
  becomesDrifted: false,
  drift: [],
  problem: null,
  ...over,
});

describe('plan lines', () => {
  it('names up to three entries, counts more, and says when nothing changes', () => {
    expect(changesLine(host())).toBe('no change');
    expect(changesLine(host({ removed: ['qemu-arm', 'qemu-ppc'] }))).toBe('removes qemu-arm, qemu-ppc');
    expect(
      changesLine(
        host({
          added: ['qemu-aarch64', 'qemu-alpha', 'qemu-arm', 'qemu-ppc'],
          changed: [{ name: 'qemu-s390x', what: 'flags "F" -> "OCF"' }],
        }),
      ),
    ).toBe('adds 4 (qemu-aarch64, qemu-alpha, …); changes qemu-s390x (flags "F" -> "OCF")');
  });

  it('a host where the job fails says why instead of what changes', () => {
    expect(changesLine(host({ problem: 'No policy applies to this host.' }))).toBe(
      'No policy applies to this host.',
    );
  });

  it('groups drift by kind, counting long runs', () => {
    const wrong = ['alpha', 'arm', 'ppc', 'sparc'].map((target) => ({
      target,
      kind: 'wrong-flags' as const,
      detail: '',
    }));
    expect(driftLine([{ target: 'riscv64', kind: 'missing', detail: '' }, ...wrong])).toBe(
      'riscv64 missing; wrong flags on 4 entries (alpha, arm, …)',
    );
  });
});

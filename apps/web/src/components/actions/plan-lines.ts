import type { RouterOutputs } from '../trpc/types.ts';

type HostPlan = RouterOutputs['plans']['preview']['hosts'][number];

/** Names, or how many and the first two: "qemu-arm, qemu-ppc", "31 (qemu-aarch64, qemu-alpha, …)". */
const few = (names: readonly string[]) =>
  names.length <= 3 ? names.join(', ') : `${names.length} (${names.slice(0, 2).join(', ')}, …)`;

/** A host's changes in one short line: "adds 31 (qemu-aarch64, …); removes qemu-riscv64". */
export function changesLine(h: HostPlan): string {
  if (h.problem) return h.problem;
  const parts = [
    h.added.length > 0 && `adds ${few(h.added)}`,
    h.removed.length > 0 && `removes ${few(h.removed)}`,
    h.changed.length > 0 &&
      `changes ${h.changed.length <= 2 ? h.changed.map((c) => `${c.name} (${c.what})`).join(', ') : few(h.changed.map((c) => c.name))}`,
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : 'no change';
}

/** A drift list, short: "riscv64 missing; wrong flags on 31 entries (alpha, arm, …)". */
export function driftLine(drift: HostPlan['drift']): string {
  const byKind = new Map<string, string[]>();
  for (const d of drift) byKind.set(d.kind, [...(byKind.get(d.kind) ?? []), d.target]);
  return [...byKind]
    .map(([kind, targets]) => {
      const what = kind.replace('wrong-', 'wrong ');
      return targets.length <= 3
        ? `${targets.join(', ')} ${what}`
        : `${what} on ${targets.length} entries (${targets.slice(0, 2).join(', ')}, …)`;
    })
    .join('; ');
}

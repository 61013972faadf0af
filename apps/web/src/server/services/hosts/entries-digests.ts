import type { KernelEntry } from '@binfleet/arch-table';
import { inBatches, type Db } from '@binfleet/db';
import { computeDrift, type PolicySpec } from '../policy.ts';

/** What fleet-wide views need of a set of entries. */
export interface EntriesDigest {
  /** Targets whose qemu-<target> entry is registered and enabled (coverage). */
  readonly enabledTargets: readonly string[];
  /** Whether any qemu entry is registered (without one there is nothing to self-test). */
  readonly hasQemuEntries: boolean;
}

interface Cached extends EntriesDigest {
  /** What views derived from these entries, by what else it depends on (see driftKey, derive). */
  readonly derived: Map<string, unknown>;
  /** Kept while a policy or architecture not seen yet may ask for what it derives. */
  readonly entries: readonly KernelEntry[];
}

/** A host's entries as the digests know them: by content hash (null: no entries recorded). */
export type EntriesHash = string | null;

/** Distinct entry sets kept before the cache starts over (a fleet has a few per group and arch). */
const MAX_DIGESTS = 20_000;

const NONE: Cached = { ...digestOf([]), derived: new Map(), entries: [] };

/**
 * Coverage, drift and "has qemu entries" over the whole fleet without reading every host's entries
 * JSON on each view. A host row carries the content hash of its entries (`entriesHash`, written with
 * them by snapshots.ts), and what is derived from a set of entries never changes, so it is kept here
 * by hash: a view groups hosts by hash in the database and reads the entries of a hash only the
 * first time this process meets it. Hosts with the same entries (most of a group) share one digest.
 */
export class EntriesDigests {
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly db: Db) {}

  async of(hashes: Iterable<EntriesHash>): Promise<Map<EntriesHash, EntriesDigest>> {
    const wanted = [...new Set(hashes)];
    await this.load(wanted);
    return new Map(wanted.map((h) => [h, this.get(h)]));
  }

  /** How many differences hosts with these entries and architecture have from their policy. */
  async driftCounts(
    hosts: readonly { hash: EntriesHash; arch: string | null; policy: PolicySpec }[],
  ): Promise<number[]> {
    return this.derive(
      hosts.map((h) => ({ hash: h.hash, key: `drift|${driftKey(h.policy, h.arch)}` })),
      (entries, i) => computeDrift(hosts[i]!.policy, hosts[i]!.arch, entries).length,
    );
  }

  /**
   * What `compute` makes of each host's entries, worked out once per hash and `key` (a name for the
   * computation and everything it reads besides the entries) and kept with the digest. What it
   * returns is shared by every host with those entries: callers must not change it.
   */
  async derive<T>(
    hosts: readonly { hash: EntriesHash; key: string }[],
    compute: (entries: readonly KernelEntry[], index: number) => T,
  ): Promise<T[]> {
    await this.load(hosts.map((h) => h.hash));
    return hosts.map((h, i) => {
      const cached = this.get(h.hash);
      if (cached.derived.has(h.key)) return cached.derived.get(h.key) as T;
      const value = compute(cached.entries, i);
      // NONE stands in for every hash without entries: what it derives is cheap, and not kept.
      if (cached !== NONE) cached.derived.set(h.key, value);
      return value;
    });
  }

  private get(hash: EntriesHash): Cached {
    return (hash === null ? undefined : this.cache.get(hash)) ?? NONE;
  }

  /** Reads the entries of hashes not known yet, one host's row per hash. */
  private async load(hashes: readonly EntriesHash[]): Promise<void> {
    const missing = [...new Set(hashes.filter((h): h is string => h !== null && !this.cache.has(h)))];
    if (missing.length === 0) return;
    const rows = await inBatches(missing, (batch) =>
      this.db.host.findMany({
        where: { entriesHash: { in: batch } },
        distinct: ['entriesHash'],
        select: { entriesHash: true, entries: true },
      }),
    );
    const found = new Set(rows.map((r) => r.entriesHash));
    // Every host that had a hash moved on since it was read: its snapshots still hold those entries.
    const gone = missing.filter((h) => !found.has(h));
    const snapshots =
      gone.length === 0
        ? []
        : await inBatches(gone, (batch) =>
            this.db.hostSnapshot.findMany({
              where: { contentHash: { in: batch } },
              distinct: ['contentHash'],
              select: { contentHash: true, entries: true },
            }),
          );
    if (this.cache.size + missing.length > MAX_DIGESTS) this.cache.clear();
    // The hash and the entries come from one row, written together: they always match.
    for (const [hash, json] of [
      ...rows.map((r) => [r.entriesHash!, r.entries] as const),
      ...snapshots.map((s) => [s.contentHash, s.entries] as const),
    ]) {
      const entries = (json as KernelEntry[] | null) ?? [];
      this.cache.set(hash, { ...digestOf(entries), derived: new Map(), entries });
    }
  }
}

export function digestOf(entries: readonly KernelEntry[]): EntriesDigest {
  const qemu = entries.filter((e) => e.name.startsWith('qemu-'));
  return {
    enabledTargets: qemu.filter((e) => e.enabled).map((e) => e.name.slice(5)),
    hasQemuEntries: qemu.length > 0,
  };
}

/** Drift depends on what the policy asks of a target's entry and on the host's architecture. */
export function driftKey(policy: PolicySpec, arch: string | null): string {
  return `${arch ?? ''}|${policy.targets.join(',')}|${policy.flags}|${policy.interpreterDir}|${policy.suffix}`;
}

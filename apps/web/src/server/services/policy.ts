import {
  diffAgainstExpected,
  expectedEntry,
  kernelFlags,
  flagOptionsOf,
  isTargetId,
  targetRegisterSpec,
  targetsForHost,
  TARGET_IDS,
  type KernelEntry,
  type TargetId,
} from '@binfleet/arch-table';
import { performance } from 'node:perf_hooks';
import type { Db, Policy, Wakeups } from '@binfleet/db';
import { ControlPlaneError } from '../errors.ts';
import { actorOf, type SessionUser } from './auth.ts';
import type { AuditService } from './audit.ts';

/** What a policy says, in the form services use. An empty target list means "what the host needs". */
export interface PolicySpec {
  readonly targets: readonly TargetId[];
  readonly flags: string;
  readonly interpreterDir: string;
  readonly suffix: string;
  readonly autoHeal: boolean;
}

export type DriftKind =
  'missing' | 'extra' | 'disabled' | 'wrong-flags' | 'wrong-interpreter' | 'wrong-magic';

export interface Drift {
  readonly target: string;
  readonly kind: DriftKind;
  readonly detail: string;
}

export function policySpecOf(p: Policy): PolicySpec {
  const targets = (Array.isArray(p.targets) ? p.targets : []).filter(
    (t): t is TargetId => typeof t === 'string' && isTargetId(t),
  );
  return {
    targets,
    flags: p.flags,
    interpreterDir: p.interpreterDir,
    suffix: p.suffix,
    autoHeal: p.autoHeal,
  };
}

/** The targets a policy wants on a host of this architecture. */
export function wantedTargets(spec: PolicySpec, hostArch: string | null): TargetId[] {
  if (spec.targets.length > 0) return [...spec.targets];
  try {
    return targetsForHost(hostArch ?? 'x86_64');
  } catch {
    return [...TARGET_IDS];
  }
}

/**
 * How a host's entries differ from its policy: missing, disabled or differing qemu-<target> entries,
 * and qemu entries the policy does not want.
 */
// What a policy wants a target's entry to look like. A fleet page compares thousands of hosts with a
// handful of policies, so each (target, interpreter, flags) is worked out once.
const expectedCache = new Map<string, KernelEntry>();
export function expectedFor(target: TargetId, spec: PolicySpec): KernelEntry {
  const key = `${target}|${spec.interpreterDir}|${spec.suffix}|${spec.flags}`;
  let entry = expectedCache.get(key);
  if (!entry) {
    if (expectedCache.size > 10_000) expectedCache.clear();
    entry = expectedEntry(
      targetRegisterSpec(target, {
        interpreterDir: spec.interpreterDir,
        suffix: spec.suffix,
        ...flagOptionsOf(spec.flags),
      }),
    );
    expectedCache.set(key, entry);
  }
  return entry;
}

export function computeDrift(
  spec: PolicySpec,
  hostArch: string | null,
  entries: readonly KernelEntry[],
): Drift[] {
  const wanted = wantedTargets(spec, hostArch);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const drift: Drift[] = [];
  for (const target of wanted) {
    const desired = expectedFor(target, spec);
    const actual = byName.get(desired.name);
    if (!actual) {
      drift.push({ target, kind: 'missing', detail: `${desired.name} is not registered` });
      continue;
    }
    for (const d of diffAgainstExpected(actual, desired)) {
      const kind: DriftKind =
        d.field === 'flags' ? 'wrong-flags' : d.field === 'interpreter' ? 'wrong-interpreter' : 'wrong-magic';
      drift.push({ target, kind, detail: `${d.field} is "${d.actual}", policy wants "${d.expected}"` });
    }
    if (!actual.enabled) drift.push({ target, kind: 'disabled', detail: `${desired.name} is disabled` });
  }
  const wantedNames = new Set(wanted.map((t) => `qemu-${t}`));
  for (const e of entries) {
    if (e.name.startsWith('qemu-') && !wantedNames.has(e.name)) {
      drift.push({
        target: e.name.slice(5),
        kind: 'extra',
        detail: `${e.name} is registered but not in the policy`,
      });
    }
  }
  return drift;
}

export const DEFAULT_POLICY: PolicySpec = {
  targets: [],
  flags: 'F',
  interpreterDir: '/usr/bin',
  suffix: '-static',
  autoHeal: false,
};

/** The wake topic a policy change is announced on, to every replica (PostgreSQL) or this process. */
const POLICIES_CHANGED = 'policies';
/** How long the policy table is kept at most: a write outside any server (a seed script) shows within it. */
const POLICIES_KEPT_MS = 5_000;

export class PolicyService {
  /**
   * Every policy by scope key, read once and kept: heartbeats (auto-heal) and the fleet page ask on
   * every call. Dropped when this server changes a policy, when any replica announces a change
   * (wakeups), and after POLICIES_KEPT_MS. A read that started before a change is not kept.
   */
  private table: { at: number; byKey: Promise<ReadonlyMap<string, PolicySpec>> } | undefined;
  private version = 0;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly wakeups?: Pick<Wakeups, 'wake' | 'on'>,
  ) {
    wakeups?.on(POLICIES_CHANGED, () => this.forget());
  }

  private forget(): void {
    this.version++;
    this.table = undefined;
  }

  private byKey(): Promise<ReadonlyMap<string, PolicySpec>> {
    const now = performance.now();
    if (this.table && now - this.table.at < POLICIES_KEPT_MS) return this.table.byKey;
    const version = this.version;
    const byKey = this.db.policy
      .findMany()
      .then((rows) => new Map(rows.map((r) => [r.scopeKey, policySpecOf(r)])));
    this.table = { at: now, byKey };
    byKey.then(
      () => {
        if (this.version !== version && this.table?.byKey === byKey) this.table = undefined;
      },
      () => {
        if (this.table?.byKey === byKey) this.table = undefined;
      },
    );
    return byKey;
  }

  /**
   * After a write: this server forgets at once, the others when the wake reaches them. Not waited
   * for: a wake that cannot be sent (PostgreSQL's listening connection down) delays and fails
   * nothing; they read again within POLICIES_KEPT_MS, or on reconnecting.
   */
  private changed(): void {
    this.forget();
    void this.wakeups?.wake(POLICIES_CHANGED).catch(() => undefined);
  }

  async list() {
    const rows = await this.db.policy.findMany({ orderBy: [{ scope: 'asc' }, { groupName: 'asc' }] });
    return rows.map((p) => ({
      id: p.id,
      scope: p.scope,
      groupName: p.groupName,
      updatedAt: p.updatedAt,
      ...policySpecOf(p),
    }));
  }

  /** The group's policy if there is one, else the fleet's, else none (no drift is computed). */
  async forGroup(groupName: string | null): Promise<PolicySpec | null> {
    return (await this.resolver())(groupName);
  }

  /**
   * The policy table as it is kept now: a new object after a change or a reread, so a read model
   * computed from policies can tell whether they may have changed since (FleetReadCache).
   */
  current(): Promise<object> {
    return this.byKey();
  }

  /** All policies at once, for computing drift over many hosts without a query per host. */
  async resolver(): Promise<(groupName: string | null) => PolicySpec | null> {
    const byKey = await this.byKey();
    return (groupName) =>
      (groupName ? byKey.get(`group:${groupName}`) : undefined) ?? byKey.get('fleet') ?? null;
  }

  async set(actor: SessionUser, input: { groupName: string | null } & PolicySpec) {
    const flags = kernelFlags(input.flags);
    // Every register line the policy can produce must be valid: a directory that is fine alone can
    // still make an interpreter path longer than the kernel takes once the emulator name is appended.
    for (const target of input.targets.length > 0 ? input.targets : TARGET_IDS)
      targetRegisterSpec(target, { interpreterDir: input.interpreterDir, suffix: input.suffix });
    const scopeKey = input.groupName ? `group:${input.groupName}` : 'fleet';
    const data = {
      targets: [...input.targets],
      flags,
      interpreterDir: input.interpreterDir,
      suffix: input.suffix,
      autoHeal: input.autoHeal,
      updatedById: actor.id,
    };
    await this.db.policy.upsert({
      where: { scopeKey },
      create: { scope: input.groupName ? 'group' : 'fleet', groupName: input.groupName, scopeKey, ...data },
      update: data,
    });
    this.changed();
    await this.audit.record({
      actor: actorOf(actor),
      action: 'policy.set',
      targets: [scopeKey],
      params: { ...data, updatedById: undefined },
      outcome: 'success',
    });
  }

  /**
   * What the policy form lints a draft against before save (arch-table's registration lint): the
   * machines of the fleet (targets native to them) and the entries of other names the hosts' kernels
   * hold (magic a target would overlap), each once with how many hosts have it.
   */
  async lintContext() {
    const hosts = await this.db.host.findMany({ select: { arch: true, entries: true } });
    const machines = [...new Set(hosts.flatMap((h) => (h.arch ? [h.arch] : [])))].sort();
    const foreign = new Map<string, { entry: KernelEntry; hosts: number }>();
    for (const host of hosts) {
      for (const entry of (host.entries as KernelEntry[] | null) ?? []) {
        if (entry.type !== 'M' || (entry.name.startsWith('qemu-') && isTargetId(entry.name.slice(5))))
          continue;
        const key = `${entry.name}|${entry.offset}|${entry.magic}|${entry.mask ?? ''}`;
        const seen = foreign.get(key);
        foreign.set(key, { entry: seen?.entry ?? entry, hosts: (seen?.hosts ?? 0) + 1 });
      }
    }
    return { machines, foreignEntries: [...foreign.values()] };
  }

  async remove(actor: SessionUser, groupName: string | null) {
    const scopeKey = groupName ? `group:${groupName}` : 'fleet';
    const { count } = await this.db.policy.deleteMany({ where: { scopeKey } });
    if (count === 0) throw new ControlPlaneError('NOT_FOUND', `There is no ${scopeKey} policy.`);
    this.changed();
    await this.audit.record({
      actor: actorOf(actor),
      action: 'policy.remove',
      targets: [scopeKey],
      outcome: 'success',
    });
  }
}

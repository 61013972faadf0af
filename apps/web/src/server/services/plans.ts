import { diffAgainstExpected, kernelFlags, scriptFlags, type KernelEntry } from '@binfleet/arch-table';
import { inBatches, type Db, type Prisma } from '@binfleet/db';
import { describeJob, type JobParams } from '../../shared/job-kinds.ts';
import { ControlPlaneError } from '../errors.ts';
import { HostService } from './hosts/host-service.ts';
import {
  DEFAULT_POLICY,
  expectedFor,
  wantedTargets,
  type Drift,
  type PolicyService,
  type PolicySpec,
} from './policy.ts';

/** What to dry-run: a job on chosen hosts, or a policy draft over the hosts it would govern. */
export type PlanRequest =
  | { readonly kind: 'action'; readonly params: JobParams; readonly hostIds: readonly string[] }
  | { readonly kind: 'policy'; readonly draft: { readonly groupName: string | null } & PolicySpec };

export interface EntryChange {
  readonly name: string;
  /** What changes, e.g. `flags "F" -> "OCF"`, `disabled -> enabled`. */
  readonly what: string;
}

export interface HostPlan {
  readonly id: string;
  readonly hostname: string;
  readonly group: string | null;
  readonly online: boolean;
  /** Entries the action registers, removes, or changes in place (net: a reset re-registering the same entry changes nothing). */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly EntryChange[];
  /** Differences from the policy now, and after the action (or under the draft); null where no policy applies. */
  readonly driftBefore: number | null;
  readonly driftAfter: number | null;
  /** In policy now, drifted after. */
  readonly becomesDrifted: boolean;
  /** The drift after, for the hosts that become drifted (what the policy form names). */
  readonly drift: readonly Drift[];
  /** Why the action cannot run as asked on this host (it would fail there). */
  readonly problem: string | null;
}

export interface Plan {
  /** What was planned, in words ("Reset and register per policy", "Group ci policy draft"). */
  readonly summary: string;
  readonly totals: {
    readonly hosts: number;
    readonly online: number;
    readonly offline: number;
    /** Hosts whose entries match their policy now (for a draft: the policy that governs them now). */
    readonly inPolicy: number;
    /** Hosts whose entries the action (or the draft's auto-heal) would change. */
    readonly changing: number;
    readonly becomeDrifted: number;
    /** Drifted now, in policy after. */
    readonly backInPolicy: number;
    /** A draft with auto-heal: drifted hosts that get a reset at their next heartbeat (online now / offline). */
    readonly autoHealOnline: number;
    readonly autoHealOffline: number;
  };
  /** Every offline host and every host already in policy (the bulk review's "exclude offline"). */
  readonly offlineIds: readonly string[];
  readonly inPolicyIds: readonly string[];
  /** Per host, those that become drifted first, then those that change, then the rest; at most HOST_ROWS. */
  readonly hosts: readonly HostPlan[];
}

/** Rows of per-host detail a plan carries; the totals count every host. */
export const HOST_ROWS = 500;

const planSelect = {
  id: true,
  hostname: true,
  groupName: true,
  arch: true,
  entries: true,
  lastSeenAt: true,
} satisfies Prisma.HostSelect;
type PlanHost = Prisma.HostGetPayload<{ select: typeof planSelect }>;

/**
 * Dry runs: what an action or a policy draft would change, per host, from the entries the hosts
 * last reported. Drift is the fleet page's (`HostService.drift`), entries are the arch table's
 * (`expectedFor`), so a plan and the page after the job agree. Interpreters of a job without a policy
 * are taken as the agents' defaults (/usr/bin/qemu-*-static): an agent started with another
 * directory registers there instead.
 */
export class PlanService {
  constructor(
    private readonly db: Db,
    private readonly hosts: HostService,
    private readonly policies: PolicyService,
  ) {}

  async plan(request: PlanRequest): Promise<Plan> {
    return request.kind === 'action'
      ? this.action(request.params, request.hostIds)
      : this.draft(request.draft);
  }

  private async action(params: JobParams, hostIds: readonly string[]): Promise<Plan> {
    const ids = [...new Set(hostIds)];
    const [rows, policyOf] = await Promise.all([
      // In batches: up to 5,000 ids, and SQLite takes 999 parameters a query. summarize() orders the rows.
      inBatches(ids, (batch) => this.db.host.findMany({ where: { id: { in: batch } }, select: planSelect })),
      this.policies.resolver(),
    ]);
    if (rows.length !== ids.length)
      throw new ControlPlaneError('NOT_FOUND', 'Some selected hosts no longer exist: reload the fleet page.');
    const plans = rows.map((h) => {
      const policy = policyOf(h.groupName);
      const before = HostService.entriesOf(h);
      const after = entriesAfter(params, policy, h.arch, before);
      return this.hostPlan(h, policy, policy, before, typeof after === 'string' ? before : after, after);
    });
    return summarize(describeJob(params), plans, null);
  }

  private async draft(draft: { readonly groupName: string | null } & PolicySpec): Promise<Plan> {
    const spec: PolicySpec = { ...draft, flags: kernelFlags(draft.flags) };
    const groupPolicies = (await this.policies.list()).flatMap((p) => (p.groupName ? [p.groupName] : []));
    // A group's draft governs its hosts; the fleet's, every host whose group has no policy of its own.
    const where: Prisma.HostWhereInput = draft.groupName
      ? { groupName: draft.groupName }
      : { OR: [{ groupName: null }, { groupName: { notIn: groupPolicies } }] };
    const [rows, policyOf] = await Promise.all([
      this.db.host.findMany({ where, select: planSelect, orderBy: { hostname: 'asc' } }),
      this.policies.resolver(),
    ]);
    const heal: JobParams = {
      kind: 'reset-register',
      usePolicy: true,
      persistent: false,
      credential: false,
      preserveArgv0: false,
    };
    const plans = rows.map((h) => {
      const before = HostService.entriesOf(h);
      const drifted = this.hosts.drift(spec, h.arch, before).length > 0;
      // Entries change only where auto-heal would reset a host drifted from the draft.
      const after = spec.autoHeal && drifted ? entriesAfter(heal, spec, h.arch, before) : before;
      return this.hostPlan(h, policyOf(h.groupName), spec, before, before, after);
    });
    const scope = draft.groupName ? `Group ${draft.groupName} policy draft` : 'Fleet policy draft';
    return summarize(scope, plans, spec.autoHeal);
  }

  /**
   * One host's plan: drift now under `policyNow`, drift of `driftEntries` under `policyAfter`, and the
   * entry changes from `before` to `after` (a string: why the action fails on this host).
   */
  private hostPlan(
    h: PlanHost,
    policyNow: PolicySpec | null,
    policyAfter: PolicySpec | null,
    before: readonly KernelEntry[],
    driftEntries: readonly KernelEntry[],
    after: readonly KernelEntry[] | string,
  ): HostPlan {
    const problem = typeof after === 'string' ? after : null;
    const changes = diffEntries(before, typeof after === 'string' ? before : after);
    const driftBefore = policyNow ? this.hosts.drift(policyNow, h.arch, before).length : null;
    const drift = policyAfter ? this.hosts.drift(policyAfter, h.arch, problem ? before : driftEntries) : [];
    const driftAfter = policyAfter ? drift.length : null;
    const becomesDrifted = (driftBefore ?? 0) === 0 && (driftAfter ?? 0) > 0;
    return {
      id: h.id,
      hostname: h.hostname,
      group: h.groupName,
      online: this.hosts.isOnline(h.lastSeenAt),
      ...changes,
      driftBefore,
      driftAfter,
      becomesDrifted,
      drift: becomesDrifted ? drift : [],
      problem,
    };
  }
}

/**
 * The entries a host's kernel would hold after the job, as the agent plans it: a reset first removes
 * every qemu-* entry; register and reset write each target's entry as the arch table builds it
 * (enabled); remove drops qemu-<target>; enable and disable switch existing ones; verify changes nothing.
 */
export function entriesAfter(
  params: JobParams,
  policy: PolicySpec | null,
  arch: string | null,
  entries: readonly KernelEntry[],
): KernelEntry[] | string {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const named = (targets: readonly string[] | undefined) => new Set(targets?.map((t) => `qemu-${t}`));
  switch (params.kind) {
    case 'reset-register':
    case 'register': {
      if (params.kind === 'reset-register' && params.usePolicy && !policy)
        return 'No policy applies to this host: the job fails here. Set a fleet or group policy first.';
      const spec: PolicySpec =
        params.kind === 'reset-register' && params.usePolicy && policy
          ? policy
          : {
              ...DEFAULT_POLICY,
              targets: params.targets ?? [],
              flags: kernelFlags(scriptFlags(params)),
            };
      if (params.kind === 'reset-register')
        for (const name of [...byName.keys()]) if (name.startsWith('qemu-')) byName.delete(name);
      for (const target of wantedTargets(spec, arch)) {
        const entry = expectedFor(target, spec);
        byName.set(entry.name, entry);
      }
      break;
    }
    case 'remove': {
      const gone = named(params.targets);
      for (const name of [...byName.keys()])
        if (name.startsWith('qemu-') && (params.all || !params.targets || gone.has(name)))
          byName.delete(name);
      break;
    }
    case 'enable':
    case 'disable':
      for (const name of named(params.targets)) {
        const entry = byName.get(name);
        if (entry) byName.set(name, { ...entry, enabled: params.kind === 'enable' });
      }
      break;
    case 'verify':
      break;
  }
  return [...byName.values()];
}

/** Net changes from one list of entries to another, by name. */
export function diffEntries(before: readonly KernelEntry[], after: readonly KernelEntry[]) {
  const was = new Map(before.map((e) => [e.name, e]));
  const will = new Map(after.map((e) => [e.name, e]));
  const added = [...will.keys()].filter((n) => !was.has(n)).sort();
  const removed = [...was.keys()].filter((n) => !will.has(n)).sort();
  const changed: EntryChange[] = [];
  for (const [name, next] of [...will].sort(([a], [b]) => a.localeCompare(b))) {
    const prev = was.get(name);
    if (!prev) continue;
    const what = diffAgainstExpected(prev, next).map((d) => `${d.field} "${d.actual}" -> "${d.expected}"`);
    if (prev.enabled !== next.enabled)
      what.push(prev.enabled ? 'enabled -> disabled' : 'disabled -> enabled');
    if (what.length > 0) changed.push({ name, what: what.join(', ') });
  }
  return { added, removed, changed };
}

function summarize(summary: string, plans: readonly HostPlan[], autoHeal: boolean | null): Plan {
  const changes = (p: HostPlan) => p.added.length + p.removed.length + p.changed.length > 0;
  const healed = plans.filter((p) => autoHeal && (p.driftAfter ?? 0) > 0);
  const rank = (p: HostPlan) => (p.becomesDrifted ? 0 : p.problem ? 1 : changes(p) ? 2 : 3);
  return {
    summary,
    totals: {
      hosts: plans.length,
      online: plans.filter((p) => p.online).length,
      offline: plans.filter((p) => !p.online).length,
      inPolicy: plans.filter((p) => p.driftBefore === 0).length,
      changing: plans.filter(changes).length,
      becomeDrifted: plans.filter((p) => p.becomesDrifted).length,
      backInPolicy: plans.filter((p) => (p.driftBefore ?? 0) > 0 && p.driftAfter === 0).length,
      autoHealOnline: healed.filter((p) => p.online).length,
      autoHealOffline: healed.filter((p) => !p.online).length,
    },
    offlineIds: plans.filter((p) => !p.online).map((p) => p.id),
    inPolicyIds: plans.filter((p) => p.driftBefore === 0).map((p) => p.id),
    hosts: [...plans]
      .sort((a, b) => rank(a) - rank(b) || a.hostname.localeCompare(b.hostname))
      .slice(0, HOST_ROWS),
  };
}

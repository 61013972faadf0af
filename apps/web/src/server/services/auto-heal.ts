import type { Host } from '@binfleet/db';
import { SYSTEM } from './audit.ts';
import type { HostService } from './hosts.ts';
import type { JobService } from './jobs.ts';
import type { PolicyService } from './policy.ts';

/**
 * After a heartbeat: when the host drifted from a policy that allows auto-heal and no job is open on
 * it, queue a reset + register per policy (e.g. after a reboot emptied binfmt_misc).
 */
export async function autoHealIfNeeded(
  host: Pick<Host, 'id' | 'groupName' | 'arch'>,
  deps: { hosts: HostService; jobs: JobService; policies: PolicyService },
): Promise<string | null> {
  const policy = await deps.policies.forGroup(host.groupName);
  if (!policy?.autoHeal) return null;
  const entries = (await deps.hosts.latestEntries([host.id])).get(host.id) ?? [];
  if (deps.hosts.drift(policy, host.arch, entries).length === 0) return null;
  if (await deps.jobs.hostHasOpenJob(host.id)) return null;
  const job = await deps.jobs.create(
    { ...SYSTEM, name: 'auto-heal' },
    { kind: 'reset-register', usePolicy: true },
    { hostIds: [host.id] },
  );
  return job.id;
}

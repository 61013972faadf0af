import type { Host } from '@binfleet/db';
import { SYSTEM } from './audit.ts';
import type { HostService } from './hosts/host-service.ts';
import type { JobService } from './jobs.ts';
import type { PolicyService } from './policy.ts';

/**
 * After a heartbeat: when the host drifted from a policy that allows auto-heal, no job is open on it
 * and no auto-heal ran on it lately, queue a reset + register per policy (e.g. after a reboot
 * emptied binfmt_misc, or when the policy changed). The pause keeps a host whose heal keeps failing
 * from getting a job every heartbeat.
 */
export async function autoHealIfNeeded(
  host: Pick<Host, 'id' | 'groupName' | 'arch'>,
  deps: { hosts: HostService; jobs: JobService; policies: PolicyService },
  pauseMs: number,
): Promise<string | null> {
  const policy = await deps.policies.forGroup(host.groupName);
  if (!policy?.autoHeal) return null;
  const entries = (await deps.hosts.latestEntries([host.id])).get(host.id) ?? [];
  if (deps.hosts.drift(policy, host.arch, entries).length === 0) return null;
  if (await deps.jobs.hostHasOpenJob(host.id)) return null;
  if (await deps.jobs.hostHadAutoHealSince(host.id, new Date(Date.now() - pauseMs))) return null;
  const job = await deps.jobs.create(
    { ...SYSTEM, name: 'auto-heal' },
    { kind: 'reset-register', usePolicy: true },
    { hostIds: [host.id] },
  );
  return job.id;
}

import type { VerifyResult } from '@binfleet/db';

/**
 * Tests' own reading of stored self-test results, to check Host.selfTest against: per host, target and
 * method the results of the newest instant (a failure among several of one instant counts), then per
 * host 'failed' when any of those failed, else 'passed'. Hosts without a passed or failed result are
 * absent. Worked out here in TypeScript, apart from the SQL of services/hosts/self-tests.ts.
 */
export function selfTestOutcomes(
  results: readonly Pick<VerifyResult, 'hostId' | 'target' | 'method' | 'status' | 'at'>[],
): Map<string, 'failed' | 'passed'> {
  const newest = new Map<string, { hostId: string; at: number; failed: boolean }>();
  for (const r of results) {
    if (r.status !== 'passed' && r.status !== 'failed') continue;
    const key = `${r.hostId}/${r.target}/${r.method}`;
    const at = r.at.getTime();
    const seen = newest.get(key);
    if (!seen || at > seen.at) newest.set(key, { hostId: r.hostId, at, failed: r.status === 'failed' });
    else if (at === seen.at && r.status === 'failed') seen.failed = true;
  }
  const out = new Map<string, 'failed' | 'passed'>();
  for (const { hostId, failed } of newest.values())
    if (failed || !out.has(hostId)) out.set(hostId, failed ? 'failed' : 'passed');
  return out;
}

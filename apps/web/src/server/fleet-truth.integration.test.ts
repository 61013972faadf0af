import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from './testing/api-client.ts';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { until } from './testing/waiting.ts';

// What the fleet page says about hosts, from real agents in binfmt_misc sandboxes: never an
// all-clear it cannot back.
type Row = {
  hostname: string;
  drift: number | null;
  agentUrl: string;
  reach: { reachable: boolean | null; error: string | null };
  attention: { kind: string; message: string }[];
};
type DriftSummary = {
  drifted: number;
  withoutPolicy: number;
  groups: { group: string | null; hosts: number; drifted: number; hasPolicy: boolean }[];
};

describe('the fleet page tells the truth', () => {
  let fleet: Fleet;
  let admin: ApiClient;

  beforeAll(async () => {
    fleet = await startFleet({
      name: 'fleet-truth',
      agents: 2,
      heartbeatIntervalMs: 1000,
      env: { BINFLEET_AGENT_URL_ALLOW: '127.0.0.0/8', BINFLEET_HEALTH_INTERVAL_MS: '2000' },
      agent: { args: ['--heartbeat-interval', '1s', '--reconcile-interval', '1h'] },
    });
    admin = fleet.api;
  }, 120_000);

  afterAll(() => fleet?.stop());

  it('with no policy, shows "no policy", never "in policy"', async () => {
    const rows = await admin.ok(admin.query<{ items: Row[] }>('fleet.hosts', { filter: {} }));
    expect(rows.items).toHaveLength(2);
    expect(rows.items.map((r) => r.drift)).toEqual([null, null]);
    const drift = await admin.ok(admin.query<DriftSummary>('fleet.drift'));
    expect(drift).toMatchObject({ drifted: 0, withoutPolicy: 2, groups: [{ hosts: 2, hasPolicy: false }] });
    // Neither "drifted" nor "matches its policy" lists a host no policy governs.
    for (const drifted of [true, false]) {
      const page = await admin.ok(admin.query<{ total: number }>('fleet.hosts', { filter: { drifted } }));
      expect(page.total).toBe(0);
    }

    await admin.ok(
      admin.mutation('policy.set', {
        groupName: null,
        targets: ['aarch64'],
        flags: 'F',
        interpreterDir: '/usr/bin',
        suffix: '-static',
        autoHeal: false,
      }),
    );
    const governed = await admin.ok(admin.query<{ items: Row[] }>('fleet.hosts', { filter: {} }));
    expect(governed.items.map((r) => r.drift)).toEqual([1, 1]);
    expect(await admin.ok(admin.query<DriftSummary>('fleet.drift'))).toMatchObject({
      drifted: 2,
      withoutPolicy: 0,
      groups: [{ hasPolicy: true }],
    });
    await admin.ok(admin.mutation('policy.remove', { groupName: null }));
  });

  it('flags two hosts advertising one agent URL, and the one whose credential that agent refuses', async () => {
    const rows = async () =>
      (await admin.ok(admin.query<{ items: Row[] }>('fleet.hosts', { filter: {} }))).items;
    await until('both hosts checked', async () => (await rows()).every((r) => r.reach.reachable === true));
    // Host 1's agent now advertises host 0's URL, as a cloned VM or a mistyped --advertise-url would.
    const [first, second] = fleet.hosts;
    await fleet.restartAgent(second!.index, { args: ['--advertise-url', first!.agent.url] });
    const flagged = await until('one agent URL flagged', async () => {
      const r = await rows();
      return r.every((h) => h.attention.some((a) => a.kind === 'shared-agent-url')) && r;
    });
    const [a, b] = flagged;
    expect(a!.agentUrl).toBe(b!.agentUrl);
    expect(a!.attention.find((r) => r.kind === 'shared-agent-url')!.message).toContain(
      `also the agent URL of ${b!.hostname}`,
    );
    // Calls for host 1 now reach host 0's agent, which refuses host 1's credential.
    const refused = await until('the moved host unreachable', async () => {
      const r = (await rows()).find((h) => h.reach.reachable === false);
      return r;
    });
    expect(refused.reach.error).toContain('refused our credential');
  });

  it("revokes a removed host's credential at once: its agent's next heartbeat is refused, saying why, and audited once", async () => {
    const [first] = fleet.hosts;
    const hostname = (await fleet.db.host.findUniqueOrThrow({ where: { id: first!.hostId } })).hostname;
    await admin.ok(admin.mutation('fleet.removeHost', { id: first!.hostId }));
    const refused = await until('a refused heartbeat audited', async () => {
      const events = await fleet.db.auditEvent.findMany({
        where: { action: 'host.heartbeat', outcome: 'denied' },
      });
      return events.length > 0 && events;
    });
    expect(refused).toHaveLength(1);
    expect(refused[0]!.detail).toContain(`host removed by ${fleet.admin.username}`);
    // The agent is told why, and keeps being refused without flooding the audit log.
    const line = await first!.agent.waitForLog(
      (l) => JSON.stringify(l).includes('was removed from the fleet'),
      30_000,
    );
    expect(JSON.stringify(line)).toContain('binfleet-agent-uninstall');
    // Again, as the agent would on its next beat: refused with the same words, not audited again.
    const { link } = JSON.parse(readFileSync(join(first!.stateDir, 'fleet-link.json'), 'utf8')) as {
      link: { heartbeatToken: string };
    };
    const response = await fetch(`${fleet.url}/api/trpc/agentApi.heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${link.heartbeatToken}` },
      body: JSON.stringify({ json: { hostname, facts: {}, entries: [] } }),
    });
    expect(response.status).toBe(401);
    expect(JSON.stringify(await response.json())).toContain('was removed from the fleet');
    expect(await fleet.db.auditEvent.count({ where: { action: 'host.heartbeat', outcome: 'denied' } })).toBe(
      1,
    );
    expect(refused[0]!.targets).toEqual([hostname]);
  });
});

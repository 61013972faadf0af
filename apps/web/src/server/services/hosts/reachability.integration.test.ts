import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../../testing/fixture.ts';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from '../../testing/in-process-control-plane.ts';

// Health checks on several replicas of one database: each due host is claimed by exactly one, on
// SQLite and PostgreSQL. The hosts' agent URL is a closed loopback port, so every call fails at once.
const HOSTS = 12;

describe.each(DATABASES)('health check claims on %s', (_name, database) => {
  let fixture: InProcessControlPlane;

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({ name: 'reachability', database });
    for (let i = 0; i < HOSTS; i++)
      await fixture.db.host.create({
        data: {
          agentId: `agent-${i}`,
          hostname: `h${String(i).padStart(2, '0')}`,
          agentUrl: 'http://127.0.0.1:1',
          agentTokenSealed: 'not-a-sealed-token',
          heartbeatTokenHash: `hash-${i}`,
        },
      });
  }, 60_000);

  afterAll(() => fixture?.stop());

  it('two replicas ticking at once check each host once, and record why it is unreachable', async () => {
    const replica = fixture.addReplica();
    const now = new Date();
    const [mine, theirs] = await Promise.all([
      fixture.cp.reachability.tick(now),
      replica.cp.reachability.tick(now),
    ]);
    expect(mine.filter((id) => theirs.includes(id))).toEqual([]);
    expect(mine.length + theirs.length).toBe(HOSTS);

    const hosts = await fixture.db.host.findMany({
      select: { reachable: true, reachError: true, reachCheckedAt: true },
    });
    for (const h of hosts) {
      expect(h.reachable).toBe(false);
      expect(h.reachError).toMatch(/could not be reached|unreachable/);
      expect(h.reachCheckedAt).not.toBeNull();
    }
    // Not due again within the interval.
    expect(await fixture.cp.reachability.tick(new Date(now.getTime() + 1000))).toEqual([]);
  });
});

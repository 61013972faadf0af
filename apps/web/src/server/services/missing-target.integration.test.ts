import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from '../testing/in-process-control-plane.ts';

// A change aimed at something that is not there changes nothing and is no success: the caller is told,
// and the audit log records a failure (issue 16).
describe('changes to hosts that are not there', () => {
  let plane: InProcessControlPlane;
  const ghost = '00000000-0000-7000-8000-00000000dead';

  beforeAll(async () => {
    plane = await startInProcessControlPlane({ name: 'missing-target' });
  }, 120_000);
  afterAll(async () => {
    await plane?.stop();
  });

  const lastEvent = (action: string) =>
    plane.db.auditEvent.findFirst({ where: { action }, orderBy: [{ at: 'desc' }, { id: 'desc' }] });

  it('removing a host that is not there is NOT_FOUND, audited as a failure', async () => {
    await expect(plane.admin.fleet.removeHost({ id: ghost })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await lastEvent('host.remove')).toMatchObject({ outcome: 'failure', detail: 'no such host' });
  });

  it('setting the group of hosts that are not there is NOT_FOUND, audited as a failure', async () => {
    await expect(plane.admin.fleet.setGroup({ hostIds: [ghost], group: 'lab' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/No such host \(1 of 1\)/),
    });
    expect(await lastEvent('host.set-group')).toMatchObject({ outcome: 'failure' });
    expect(await plane.db.auditEvent.count({ where: { action: 'host.set-group', outcome: 'success' } })).toBe(
      0,
    );
  });
});

describe('hostnames are unique in a fleet', () => {
  let plane: InProcessControlPlane;

  beforeAll(async () => {
    plane = await startInProcessControlPlane({ name: 'hostname-clash' });
  }, 120_000);
  afterAll(async () => {
    await plane?.stop();
  });

  const joinWith =
    (joinToken: string) =>
    (agentId: string, hostname: string, more: { heartbeatToken?: string } = {}) =>
      plane.cp.hosts.enrolment.join({
        joinToken,
        agentId,
        agentUrl: 'http://127.0.0.1:9',
        hostname,
        facts: {},
        entries: [],
        ...more,
      } as unknown as Parameters<typeof plane.cp.hosts.enrolment.join>[0]);

  it("a host that renames itself to another host's name keeps its own; the clash is audited once", async () => {
    const { token } = await plane.admin.tokens.create({ label: 'clash', expiresInHours: 1, maxUses: null });
    const enrolment = plane.cp.hosts.enrolment;
    const join = joinWith(token);
    await join('clash-agent-0001', 'build-01');
    const { hostId, heartbeatToken } = await join('clash-agent-0002', 'build-02');
    const beat = async () => {
      await enrolment.beat(await enrolment.heartbeatSender(heartbeatToken), heartbeatToken, {
        hostname: 'BUILD-01',
        facts: {},
        entries: [],
      } as unknown as Parameters<typeof enrolment.beat>[2]);
    };
    await beat();
    await beat();
    expect((await plane.db.host.findUniqueOrThrow({ where: { id: hostId } })).hostname).toBe('build-02');
    const events = await plane.db.auditEvent.findMany({ where: { action: 'host.rename' } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      outcome: 'denied',
      detail: 'kept build-02: another host is named build-01',
    });
  });

  it("a join with another host's hostname is refused, saying what to do; audited, the join token not spent", async () => {
    const { id, token } = await plane.admin.tokens.create({
      label: 'clash-join',
      expiresInHours: 1,
      maxUses: 5,
    });
    const join = joinWith(token);
    const first = await join('join-agent-0001', 'edge-07');
    const uses = async () => (await plane.db.joinToken.findUniqueOrThrow({ where: { id } })).uses;
    const hosts = await plane.db.host.count();

    await expect(join('join-agent-0002', 'EDGE-07')).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(
        /another host in this fleet is named edge-07 \(last seen .*\).*remove edge-07 in the dashboard \(Fleet > edge-07 > Remove from fleet\).*give this machine its own hostname/s,
      ),
    });
    expect(await uses()).toBe(1);
    expect(await plane.db.host.count()).toBe(hosts);
    const refused = await plane.db.auditEvent.findMany({ where: { action: 'host.join', outcome: 'denied' } });
    expect(refused.map((e) => ({ targets: e.targets, detail: e.detail, params: e.params }))).toEqual([
      {
        targets: ['edge-07'],
        detail: 'another host is named edge-07',
        params: { agentId: 'join-agent-0002', agentUrl: 'http://127.0.0.1:9', hostname: 'EDGE-07' },
      },
    ]);

    // The host itself joining again (with its credential) keeps its name; once it is removed, the
    // name is free for the machine that replaces it.
    await join('join-agent-0001', 'edge-07', { heartbeatToken: first.heartbeatToken });
    await plane.admin.fleet.removeHost({ id: first.hostId });
    expect((await join('join-agent-0002', 'edge-07')).hostId).not.toBe(first.hostId);
  });
});

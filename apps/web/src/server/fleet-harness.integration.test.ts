import { existsSync, readFileSync } from 'node:fs';
import { createDb } from '@binfleet/db';
import { kernelSnapshot } from '@binfleet/test-sandbox';
import { afterAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { finishedJob } from './testing/waiting.ts';

// The fleet harness that bench/fleet-scale.ts runs at 100 agents, kept working at 5: every agent
// joins, a job reaches every host's kernel, and stop() leaves no process, folder or database behind.
const AGENTS = 5;

/** Running, not merely a zombie its parent has yet to reap. */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};

describe.each(['sqlite', 'postgresql'] as const)('fleet harness on %s', (database) => {
  let fleet: Fleet | undefined;
  afterAll(() => fleet?.stop());

  it(`starts ${AGENTS} agents that join, run a job on every host, and stops without leftovers`, async () => {
    fleet = await startFleet({ agents: AGENTS, database, heartbeatIntervalMs: 1000 });
    const { api, hosts } = fleet;
    expect(hosts).toHaveLength(AGENTS);
    expect(new Set(hosts.map((h) => h.hostId)).size).toBe(AGENTS);
    const listed = await api.ok(
      api.query<{ total: number; items: { id: string; online: boolean }[] }>('fleet.hosts', {}),
    );
    expect(listed.total).toBe(AGENTS);
    expect(listed.items.every((h) => h.online)).toBe(true);
    for (const h of hosts) expect(kernelSnapshot(h.sandbox!)).toEqual({ status: 'enabled\n' });

    const { id } = await api.ok(
      api.mutation<{ id: string }>('jobs.create', {
        params: { kind: 'reset-register', persistent: true },
        selection: { all: true },
      }),
    );
    const job = await finishedJob<{ status: string; targets: { status: string }[] }>(api, id);
    expect(job.status).toBe('succeeded');
    expect(job.targets.map((t) => t.status)).toEqual(Array(AGENTS).fill('succeeded'));
    for (const h of hosts) expect(Object.keys(kernelSnapshot(h.sandbox!))).toContain('qemu-aarch64');

    const pids = [...hosts.flatMap((h) => [h.agent.pid, h.sandbox!.pid]), ...fleet.server.pids()];
    expect(pids.every(alive)).toBe(true);
    const { dir, databaseUrl } = fleet;
    await fleet.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    if (database === 'postgresql') {
      const db = createDb(databaseUrl);
      await expect(db.$queryRawUnsafe('SELECT 1')).rejects.toThrow(/does not exist/);
      await db.$disconnect();
    }
  }, 300_000);
});

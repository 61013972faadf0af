import type { KernelEntry } from '@binfleet/arch-table';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../testing/fleet.ts';
import { assertNoLostOrHangingRows } from '../testing/job-assertions.ts';
import { byName } from '../testing/kernel-entries.ts';
import { finishedJob } from '../testing/waiting.ts';

// What a job records, host by host: each row the entries its own host's kernel holds, and each host
// those entries as its latest. The hosts' kernels differ, and agents heartbeat once an hour, so a
// heartbeat cannot put right what a job recorded under the wrong host.
type JobView = {
  id: string;
  status: string;
  targets: { hostId: string; status: string; result: { entries: KernelEntry[] } | null }[];
};

describe.each(['sqlite', 'postgresql'] as const)('job rows of hosts that differ, on %s', (database) => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet({
      name: 'job-rows',
      agents: 2,
      database,

      heartbeatIntervalMs: 3_600_000,
    });
  }, 300_000);

  afterAll(() => fleet?.stop());

  const hostId = (i: number) => fleet.hosts[i]!.hostId;
  const names = (entries: readonly KernelEntry[]) => entries.map((e) => e.name).sort();

  const run = async (params: Record<string, unknown>, hostIndexes: readonly number[]) => {
    const { id } = await fleet.api.ok(
      fleet.api.mutation<{ id: string }>('jobs.create', {
        params,
        selection: { hostIds: hostIndexes.map(hostId) },
      }),
    );
    const job = await finishedJob<JobView>(fleet.api, id);
    expect(job.status).toBe('succeeded');
    await assertNoLostOrHangingRows(fleet.db, id, {
      hostIds: hostIndexes.map(hostId),
      kernel: fleet.kernelOf,
    });
    return job;
  };

  /** Host i's entries as the control plane holds them: on its page, and in its latest snapshot. */
  const recorded = async (i: number) => {
    const view = await fleet.api.ok(
      fleet.api.query<{ entries: KernelEntry[] }>('fleet.host', { id: hostId(i) }),
    );
    const snapshot = await fleet.db.hostSnapshot.findFirstOrThrow({
      where: { hostId: hostId(i) },
      orderBy: { takenAt: 'desc' },
    });
    return { page: byName(view.entries), snapshot: byName(snapshot.entries as unknown as KernelEntry[]) };
  };
  const expectRecordedAsKernel = async (i: number, expectedNames: readonly string[]) => {
    const kernel = fleet.kernel(i);
    expect(names(kernel), `host ${i}'s kernel`).toEqual(expectedNames);
    expect(await recorded(i), `host ${i} as recorded`).toEqual({
      page: byName(kernel),
      snapshot: byName(kernel),
    });
  };

  it("records a job's entries under its own host: one host alone, then two that differ", async () => {
    const alone = await run({ kind: 'register', targets: ['aarch64'], persistent: true }, [0]);
    expect(alone.targets.map((t) => [t.hostId, names(t.result!.entries)])).toEqual([
      [hostId(0), ['qemu-aarch64']],
    ]);
    await expectRecordedAsKernel(0, ['qemu-aarch64']);
    await expectRecordedAsKernel(1, []);

    // The same job on both: host 0 keeps its aarch64, so the two rows' entries differ.
    const both = await run({ kind: 'register', targets: ['s390x'], persistent: true }, [0, 1]);
    const rowOf = (i: number) => both.targets.find((t) => t.hostId === hostId(i))!;
    expect(names(rowOf(0).result!.entries)).toEqual(['qemu-aarch64', 'qemu-s390x']);
    expect(names(rowOf(1).result!.entries)).toEqual(['qemu-s390x']);
    await expectRecordedAsKernel(0, ['qemu-aarch64', 'qemu-s390x']);
    await expectRecordedAsKernel(1, ['qemu-s390x']);
  });
});

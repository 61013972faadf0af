import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeRegisterLine,
  registerLineOfEntryFile,
  targetRegisterSpec,
  type KernelEntry,
} from '@binfleet/arch-table';
import { buildArm64Image, machineAarch64WithF, startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './testing/fixture.ts';
import { fleetHostname, startFleet, type Fleet, type FleetOptions } from './testing/fleet.ts';
import { assertNoLostOrHangingRows } from './testing/job-assertions.ts';
import { finishedJob, until } from './testing/waiting.ts';

// Faults under a small real fleet: agents in their own kernel binfmt_misc sandboxes, the control
// plane as a real process, on SQLite and on PostgreSQL. Every test ends with a job whose rows are
// all final, one per selected host, none leased, matching the kernels (assertNoLostOrHangingRows).
type JobView = {
  status: string;
  targets: { hostId: string; hostname: string; status: string; error: string | null; attempts: number }[];
};
type HostView = {
  id: string;
  online: boolean;
  lastSeenAt: string | Date;
  entries: KernelEntry[];
  facts: { binfmt?: { mounted?: boolean; mountPoint?: string } };
};

const FAULT_FLEET = {
  heartbeatIntervalMs: 1000,
  // Agents crashed and restarted on their port (CRASHED) find it free again.
  stableAgentPorts: true,
  env: {
    BINFLEET_AGENT_CALL_TIMEOUT_MS: '4000',
    BINFLEET_RUNNER_LEASE_MS: '1000',
    BINFLEET_JOB_MAX_ATTEMPTS: '2',
  },
  agent: {
    args: [
      '--heartbeat-interval',
      '1s',
      '--reconcile-interval',
      '2s',
      '--verify-image',
      'binfleet-test/{debian}-busybox:latest',
    ],
  },
} as const satisfies Partial<FleetOptions>;

/** An agent back after a crash: killed, then started with its state dir on its port (it heartbeats with the link it kept). */
const CRASHED = { signal: 'SIGKILL', samePort: true } as const;

const hostView = (fleet: Fleet, i: number) =>
  fleet.api.ok(fleet.api.query<HostView>('fleet.host', { id: fleet.hosts[i]!.hostId }));

async function createJob(fleet: Fleet, params: Record<string, unknown>, hosts: readonly number[]) {
  const { id } = await fleet.api.ok(
    fleet.api.mutation<{ id: string }>('jobs.create', {
      params,
      selection: { hostIds: hosts.map((i) => fleet.hosts[i]!.hostId) },
    }),
  );
  return id;
}

const finished = (fleet: Fleet, id: string) => finishedJob<JobView>(fleet.api, id);

/**
 * A job's status with the rows that did not succeed and why, so that a failure says which host and
 * what: with the URL the control plane calls that host at, the agent's own URL and process, and the
 * last lines it logged.
 */
async function outcome(fleet: Fleet, job: JobView) {
  const failed = job.targets.filter((t) => t.status !== 'succeeded');
  const notSucceeded = await Promise.all(
    failed.map(async (t) => {
      const row = `${t.hostname}: ${t.status} after ${t.attempts} attempt(s): ${t.error}`;
      const host = fleet.hosts.find((h) => h.hostId === t.hostId);
      if (!host) return row;
      const record = await fleet.db.host.findUnique({ where: { id: t.hostId }, select: { agentUrl: true } });
      const logged = host.agent.logs
        .slice(-8)
        .map((l) => `${l.event ?? '?'}${l.message ? `: ${String(l.message)}` : ''}`);
      return `${row} [called at ${record?.agentUrl}; agent at ${host.agent.url}, pid ${host.agent.pid}, logged last: ${logged.join(' | ')}]`;
    }),
  );
  return { status: job.status, notSucceeded };
}
const SUCCEEDED = { status: 'succeeded', notSucceeded: [] };

function rowRunning(fleet: Fleet, jobId: string, i: number): Promise<boolean> {
  return until(`the row of host ${i} to be running`, async () => {
    const row = await fleet.db.jobTarget.findFirst({ where: { jobId, hostId: fleet.hosts[i]!.hostId } });
    return row?.status === 'running';
  });
}

describe.each(DATABASES)('faults on %s', (name, database) => {
  let fleet: Fleet;
  const all = [0, 1, 2, 3];

  beforeAll(async () => {
    fleet = await startFleet({ ...FAULT_FLEET, name: 'faults', database, agents: 4 });
  }, 180_000);

  afterAll(() => fleet?.stop());

  it('agents killed -9 mid-job: their rows fail saying the agent is unreachable, the others succeed; restarted, a re-run succeeds', async () => {
    // Frozen first, so their rows are surely in progress when they die.
    for (const i of [2, 3]) process.kill(fleet.hosts[i]!.agent.pid, 'SIGSTOP');
    const params = { kind: 'reset-register', targets: ['aarch64', 's390x', 'riscv64'], persistent: true };
    const id = await createJob(fleet, params, all);
    for (const i of [2, 3]) await rowRunning(fleet, id, i);
    for (const i of [2, 3]) await fleet.hosts[i]!.agent.stop('SIGKILL');

    const done = await finished(fleet, id);
    const rows = await assertNoLostOrHangingRows(fleet.db, id, {
      hostIds: all.map((i) => fleet.hosts[i]!.hostId),
      kernel: fleet.kernelOf,
    });
    expect(done.status).toBe('failed');
    for (const i of [0, 1]) {
      expect(rows.find((r) => r.hostId === fleet.hosts[i]!.hostId)!.status).toBe('succeeded');
      expect(fleet.kernel(i).map((e) => e.name)).toEqual(['qemu-aarch64', 'qemu-riscv64', 'qemu-s390x']);
    }
    for (const i of [2, 3]) {
      const row = rows.find((r) => r.hostId === fleet.hosts[i]!.hostId)!;
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(/unreachable.*check that binfleet-agent is running there/);
      expect(row.attempts).toBe(2);
    }

    for (const i of [2, 3]) await fleet.restartAgent(i, CRASHED);
    const again = await createJob(fleet, params, [2, 3]);
    expect(await outcome(fleet, await finished(fleet, again))).toEqual(SUCCEEDED);
    await assertNoLostOrHangingRows(fleet.db, again, {
      hostIds: [2, 3].map((i) => fleet.hosts[i]!.hostId),
      kernel: fleet.kernelOf,
    });
    for (const i of [2, 3])
      expect(fleet.kernel(i).map((e) => e.name)).toEqual(['qemu-aarch64', 'qemu-riscv64', 'qemu-s390x']);
  }, 120_000);

  it('the control plane killed -9 mid-job and restarted: the job completes, applied once per host in effect', async () => {
    process.kill(fleet.hosts[0]!.agent.pid, 'SIGSTOP');
    const id = await createJob(fleet, { kind: 'register', targets: ['ppc64le'], persistent: true }, all);
    await rowRunning(fleet, id, 0);
    await fleet.server.stop('SIGKILL');
    process.kill(fleet.hosts[0]!.agent.pid, 'SIGCONT');
    await fleet.restartServer();

    expect(await outcome(fleet, await finished(fleet, id))).toEqual(SUCCEEDED);
    const rows = await assertNoLostOrHangingRows(fleet.db, id, {
      hostIds: all.map((i) => fleet.hosts[i]!.hostId),
      kernel: fleet.kernelOf,
    });
    // The row of the frozen host was run again by the new runner once the dead one's lease ran out;
    // registering twice is harmless: one entry, as asked, and one job with one row per host.
    const row0 = rows.find((r) => r.hostId === fleet.hosts[0]!.hostId)!;
    expect(row0.attempts).toBeGreaterThanOrEqual(2);
    for (const i of all) {
      const ppc = fleet.kernel(i).filter((e) => e.name === 'qemu-ppc64le');
      expect(ppc).toHaveLength(1);
      expect(ppc[0]).toMatchObject({ enabled: true, flags: 'F' });
    }
    expect(await fleet.db.job.count({ where: { kind: 'register' } })).toBe(1);
  }, 120_000);

  it.runIf(name === 'PostgreSQL')(
    'PostgreSQL restarted mid-job: the runner and API reconnect, the job completes',
    async () => {
      process.kill(fleet.hosts[1]!.agent.pid, 'SIGSTOP');
      let resumed = false;
      try {
        const id = await createJob(fleet, { kind: 'enable', targets: ['s390x'] }, all);
        await rowRunning(fleet, id, 1);
        execFileSync('pg_ctlcluster', ['15', 'main', 'restart'], { stdio: 'pipe' });
        process.kill(fleet.hosts[1]!.agent.pid, 'SIGCONT');
        resumed = true;
        const done = await finished(fleet, id);
        await assertNoLostOrHangingRows(fleet.db, id, {
          hostIds: all.map((i) => fleet.hosts[i]!.hostId),
          kernel: fleet.kernelOf,
        });
        expect(await outcome(fleet, done)).toEqual(SUCCEEDED);
        // The server went through it without dying, and answers again.
        expect(fleet.server.output()).not.toMatch(/exited/);
        expect((await hostView(fleet, 0)).online).toBe(true);
      } finally {
        if (!resumed) process.kill(fleet.hosts[1]!.agent.pid, 'SIGCONT');
        ensurePostgresRunning();
      }
    },
    120_000,
  );

  it.runIf(name === 'SQLite')(
    'clock skew: agents 5 h ahead and behind stay online, dated by the server, with jobs and snapshots in order',
    async () => {
      const skewed = [] as number[];
      for (const offset of ['+5h', '-5h'])
        skewed.push((await fleet.addAgent({ env: fakeClock(offset) })).index);
      // The skew is real: the agents' own log lines carry their wall clock.
      for (const [k, sign] of [
        [0, 1],
        [1, -1],
      ] as const) {
        const joined = await fleet.hosts[skewed[k]!]!.agent.waitForLog((l) => l.event === 'joined');
        const skew = Date.parse(String(joined.time)) - Date.now();
        expect(Math.abs(skew - sign * 5 * 3600_000)).toBeLessThan(120_000);
      }
      const id = await createJob(
        fleet,
        { kind: 'register', targets: ['mips64el'], persistent: true },
        skewed,
      );
      expect(await outcome(fleet, await finished(fleet, id))).toEqual(SUCCEEDED);
      const rows = await assertNoLostOrHangingRows(fleet.db, id, {
        hostIds: skewed.map((i) => fleet.hosts[i]!.hostId),
        kernel: fleet.kernelOf,
      });
      // Leases are the server's business: one attempt each, not taken over as expired.
      expect(rows.map((r) => r.attempts)).toEqual([1, 1]);

      for (const i of skewed) {
        // A few heartbeats later: still online, last seen by the server's clock, and the entries the
        // job registered were neither overwritten by an older view nor dated in the future.
        const seen = new Date((await hostView(fleet, i)).lastSeenAt).getTime();
        await until(`3 more heartbeats of host ${i}`, async () => {
          const view = await hostView(fleet, i);
          return new Date(view.lastSeenAt).getTime() > seen + 2500 && view;
        });
        const view = await hostView(fleet, i);
        expect(view.online).toBe(true);
        expect(Math.abs(new Date(view.lastSeenAt).getTime() - Date.now())).toBeLessThan(10_000);
        expect(view.entries.map((e) => e.name)).toEqual(fleet.kernel(i).map((e) => e.name));
        expect(view.entries.map((e) => e.name)).toContain('qemu-mips64el');
        const snapshots = await fleet.db.hostSnapshot.findMany({ where: { hostId: fleet.hosts[i]!.hostId } });
        for (const s of snapshots) expect(s.takenAt.getTime()).toBeLessThanOrEqual(Date.now());
      }
    },
    120_000,
  );

  it.runIf(name === 'SQLite')(
    'binfmt_misc unmounted under an agent: heartbeats and the API show it, jobs fail saying how to mount it; remounted, the desired state comes back',
    async () => {
      const sandbox = fleet.hosts[0]!.sandbox!;
      const set = await createJob(
        fleet,
        { kind: 'reset-register', targets: ['aarch64'], persistent: true },
        [0],
      );
      expect(await outcome(fleet, await finished(fleet, set))).toEqual(SUCCEEDED);

      // Unmounted, and kept from being mounted again by the agent itself (it mounts binfmt_misc when
      // it can): /proc/sys/fs hidden under an empty read-only tmpfs, so the mount point is gone.
      await inSandbox(sandbox, 'umount', [sandbox.mountPoint]);
      await inSandbox(sandbox, 'mount', [
        '-t',
        'tmpfs',
        '-o',
        'ro,size=4k',
        'binfleet-fault',
        '/proc/sys/fs',
      ]);
      let blocked = true;
      try {
        const view = await until('the heartbeat to report binfmt_misc unmounted', async () => {
          const v = await hostView(fleet, 0);
          return v.facts.binfmt?.mounted === false && v;
        });
        expect(view.online).toBe(true);
        expect(view.entries).toEqual([]);

        const id = await createJob(fleet, { kind: 'register', targets: ['s390x'] }, [0]);
        const done = await finished(fleet, id);
        expect(done.status).toBe('failed');
        expect(done.targets[0]!.error).toContain('binfmt_misc is not mounted at /proc/sys/fs/binfmt_misc');
        expect(done.targets[0]!.error).toContain('mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc');
        await assertNoLostOrHangingRows(fleet.db, id, { hostIds: [fleet.hosts[0]!.hostId] });
        // The agent's reconciler hits the same wall and says so in its log.
        await fleet.hosts[0]!.agent.waitForLog(
          (l) => l.event === 'reconcile' && JSON.stringify(l).includes('mount -t binfmt_misc'),
          30_000,
        );

        await inSandbox(sandbox, 'umount', ['/proc/sys/fs']);
        blocked = false;
        // The agent may have mounted it again between our umount and the tmpfs going over it (it
        // mounts binfmt_misc when it can): then it is back now that the tmpfs is gone.
        const remount = await sandbox.exec('mount', ['-t', 'binfmt_misc', 'binfmt_misc', sandbox.mountPoint]);
        if (remount.code !== 0 && !remount.stderr.includes('already mounted'))
          throw new Error(`mount binfmt_misc in the sandbox failed: ${remount.stderr}`);
      } finally {
        if (blocked) await inSandbox(sandbox, 'umount', ['/proc/sys/fs']).catch(() => undefined);
      }
      // The reconciler puts the desired state back by itself; the heartbeats carry it to the server.
      await until(
        'the reconciler to re-register qemu-aarch64',
        async () => fleet.kernel(0).some((e) => e.name === 'qemu-aarch64' && e.flags === 'F'),
        60_000,
      );
      await until('the API to show it', async () => {
        const v = await hostView(fleet, 0);
        return v.facts.binfmt?.mounted === true && v.entries.some((e) => e.name === 'qemu-aarch64');
      });
      const again = await createJob(fleet, { kind: 'register', targets: ['s390x'] }, [0]);
      expect(await outcome(fleet, await finished(fleet, again))).toEqual(SUCCEEDED);
      await assertNoLostOrHangingRows(fleet.db, again, {
        hostIds: [fleet.hosts[0]!.hostId],
        kernel: fleet.kernelOf,
      });
    },
    120_000,
  );

  it.runIf(name === 'SQLite')(
    'a host rebooted (empty binfmt_misc, agent restarted with its state dir): desired state re-applied, same host row',
    async () => {
      const set = await createJob(
        fleet,
        { kind: 'reset-register', targets: ['aarch64', 'mips64el'], persistent: true },
        [1],
      );
      expect(await outcome(fleet, await finished(fleet, set))).toEqual(SUCCEEDED);
      const before = fleet.kernel(1);
      const hostsBefore = await fleet.db.host.count();

      await fleet.hosts[1]!.agent.stop('SIGKILL');
      await fleet.hosts[1]!.sandbox!.stop();
      fleet.hosts[1]!.sandbox = await startSandbox({ hostname: fleetHostname(1) });
      expect(fleet.kernel(1)).toEqual([]);
      await fleet.restartAgent(1, CRASHED);

      await until('the agent to re-apply its desired state', async () =>
        JSON.stringify(fleet.kernel(1)) === JSON.stringify(before) ? true : undefined,
      );
      await until('the API to show the host back in sync', async () => {
        const v = await hostView(fleet, 1);
        return (
          v.online &&
          JSON.stringify(v.entries.map((e) => e.name)) === JSON.stringify(before.map((e) => e.name))
        );
      });
      expect(await fleet.db.host.count()).toBe(hostsBefore);
      const id = await createJob(fleet, { kind: 'verify', targets: ['aarch64'] }, [1]);
      await finished(fleet, id);
      await assertNoLostOrHangingRows(fleet.db, id, {
        hostIds: [fleet.hosts[1]!.hostId],
        kernel: fleet.kernelOf,
      });
    },
    120_000,
  );

  it.runIf(name === 'SQLite')(
    'dockerd stopped during a container verify job: rows fail saying dockerd is not reachable; restarted, a re-run passes',
    async () => {
      const hosts = [0, 1, 2];
      buildArm64Image(ARM64_IMAGE);
      const machine = machineAarch64WithF({
        ofEntryFile: registerLineOfEntryFile,
        aarch64WithF: encodeRegisterLine(
          targetRegisterSpec('aarch64', { interpreterDir: '/usr/bin', suffix: '-static', persistent: true }),
        ),
      });
      let dockerd: DockerdProcess | undefined;
      let frozen = false;
      try {
        const set = await createJob(
          fleet,
          { kind: 'register', targets: ['aarch64'], persistent: true },
          hosts,
        );
        expect(await outcome(fleet, await finished(fleet, set))).toEqual(SUCCEEDED);
        const baseline = await createJob(fleet, { kind: 'verify', targets: ['aarch64'] }, hosts);
        expect(await outcome(fleet, await finished(fleet, baseline))).toEqual(SUCCEEDED);

        // The agents frozen with their verify call received, so dockerd surely stops during the job.
        for (const i of hosts) process.kill(fleet.hosts[i]!.agent.pid, 'SIGSTOP');
        frozen = true;
        const id = await createJob(fleet, { kind: 'verify', targets: ['aarch64'] }, hosts);
        for (const i of hosts) await rowRunning(fleet, id, i);
        dockerd = await stopDockerd();
        for (const i of hosts) process.kill(fleet.hosts[i]!.agent.pid, 'SIGCONT');
        frozen = false;
        const done = await finished(fleet, id);
        const rows = await assertNoLostOrHangingRows(fleet.db, id, {
          hostIds: hosts.map((i) => fleet.hosts[i]!.hostId),
          kernel: fleet.kernelOf,
        });
        expect(done.status).toBe('failed');
        for (const row of rows.filter((r) => r.status === 'failed')) {
          expect(row.error).toMatch(/dockerd is not reachable/);
          expect(row.error).toMatch(/start dockerd/);
        }

        await dockerd.restart();
        const again = await createJob(fleet, { kind: 'verify', targets: ['aarch64'] }, hosts);
        expect(await outcome(fleet, await finished(fleet, again))).toEqual(SUCCEEDED);
        await assertNoLostOrHangingRows(fleet.db, again, {
          hostIds: hosts.map((i) => fleet.hosts[i]!.hostId),
          kernel: fleet.kernelOf,
        });
      } finally {
        // The machine first, whatever fails after it.
        machine.restore();
        try {
          if (frozen) for (const i of hosts) process.kill(fleet.hosts[i]!.agent.pid, 'SIGCONT');
          await dockerd?.restart();
        } finally {
          execFileSync('docker', ['rmi', '-f', ARM64_IMAGE], { stdio: 'ignore' });
        }
      }
    },
    180_000,
  );
});

const ARM64_IMAGE = 'binfleet-test/arm64-busybox:latest';

/** Runs a command in the sandbox's namespaces (as root there); throws with its output if it fails. */
async function inSandbox(sandbox: Sandbox, cmd: string, args: readonly string[]): Promise<void> {
  const r = await sandbox.exec(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in the sandbox failed: ${r.stderr}`);
}

/** The environment that runs a process under libfaketime (Debian's libfaketime) with its wall clock moved. */
function fakeClock(offset: string): Record<string, string> {
  const lib = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
    .map((dir) => `${dir}/faketime/libfaketimeMT.so.1`)
    .find((file) => existsSync(file));
  if (!lib) throw new Error('libfaketime is missing: run `bash scripts/test-deps.sh` as root');
  // The monotonic clock is not what a wrong wall clock changes: leave it alone.
  return { LD_PRELOAD: lib, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

interface DockerdProcess {
  /** Starts dockerd again exactly as it ran (command line, environment, directory, log file); idempotent. */
  restart(): Promise<void>;
}

const dockerAnswers = () => {
  try {
    execFileSync('docker', ['version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
};

/** Stops the machine's dockerd (as scripts/test-deps.sh started it) and remembers how to start it again. */
async function stopDockerd(): Promise<DockerdProcess> {
  const pid = Number(execFileSync('pidof', ['dockerd'], { encoding: 'utf8' }).trim().split(/\s+/)[0]);
  const proc = `/proc/${pid}`;
  const argv = readFileSync(`${proc}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`${proc}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const cwd = readlinkSync(`${proc}/cwd`);
  const log = readlinkSync(`${proc}/fd/1`);
  process.kill(pid, 'SIGTERM');
  // dockerd waits for its containers and its containerd as it stops; once it hung there (containerd's
  // socket timing out) and, never restarted, left every later test that needs it failing. One still
  // there after 40 s is killed, with the containerd it started, so that it can be started again.
  const gone = async () => !existsSync(proc);
  try {
    await until('dockerd to exit', gone, 40_000);
  } catch {
    let children = '';
    try {
      children = execFileSync('pgrep', ['-P', String(pid), 'containerd'], { encoding: 'utf8' });
    } catch {
      // none (pgrep exits 1)
    }
    for (const p of [pid, ...children.split(/\s+/).filter(Boolean).map(Number)]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await until('dockerd to exit after SIGKILL', gone, 10_000);
  }
  let restarted: Promise<void> | undefined;
  return {
    restart() {
      restarted ??= (async () => {
        const out: number | 'ignore' = log.startsWith('/') && existsSync(log) ? openSync(log, 'a') : 'ignore';
        // detached: its own session, as `setsid dockerd` in scripts/test-deps.sh.
        const child = spawn(argv[0]!, argv.slice(1), {
          cwd,
          env: env as NodeJS.ProcessEnv,
          detached: true,
          stdio: ['ignore', out, out],
        });
        child.unref();
        if (typeof out === 'number') closeSync(out);
        await until('dockerd to answer again', async () => dockerAnswers(), 60_000);
      })();
      return restarted;
    },
  };
}

/** Puts the machine's PostgreSQL back as scripts/test-deps.sh runs it, should a test leave it down. */
function ensurePostgresRunning(): void {
  try {
    execFileSync('pg_ctlcluster', ['15', 'main', 'status'], { stdio: 'ignore' });
  } catch {
    execFileSync('pg_ctlcluster', ['15', 'main', 'start'], { stdio: 'pipe' });
  }
}

describe('disk full under the SQLite file', () => {
  let disk: string;
  let mounted = false;
  let fleet: Fleet;
  const file = () => join(disk, 'binfleet.db');

  beforeAll(async () => {
    // A small tmpfs of our own for the database, unmounted after: filling it fills nothing else.
    disk = mkdtempSync(join(tmpdir(), 'binfleet-full-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m,mode=0700', 'binfleet-full-disk', disk]);
    mounted = true;
    fleet = await startFleet({ ...FAULT_FLEET, name: 'disk-full', databaseUrl: `file:${file()}`, agents: 2 });
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
    if (mounted) execFileSync('umount', [disk]);
    if (disk) rmSync(disk, { recursive: true, force: true });
  });

  it('reports the full disk clearly, keeps running, loses and corrupts nothing, and resumes once space is freed', async () => {
    const before = await createJob(fleet, { kind: 'register', targets: ['aarch64'] }, [0, 1]);
    expect(await outcome(fleet, await finished(fleet, before))).toEqual(SUCCEEDED);
    const committed = {
      hosts: await fleet.db.host.findMany({ orderBy: { id: 'asc' } }),
      rows: await fleet.db.jobTarget.findMany({ where: { jobId: before }, orderBy: { id: 'asc' } }),
      audit: await fleet.db.auditEvent.count(),
    };
    // Start from an empty write-ahead log, so the next write needs new space.
    await fleet.db.$queryRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)');

    const filler = fillDisk(disk);
    const created: string[] = [];
    let refusal: { status: number; message: string } | undefined;
    try {
      // Heartbeats and requests keep coming; the first write that needs space fails.
      refusal = await until('a request refused for the full disk', async () => {
        const r = await fleet.api.mutation<{ id: string }>('jobs.create', {
          params: { kind: 'register', targets: ['s390x'] },
          selection: { hostIds: [fleet.hosts[0]!.hostId] },
        });
        if (r.data) created.push(r.data.id);
        return r.error && { status: r.status, message: r.error.message };
      });
      expect(refusal.status).toBe(500);
      expect(refusal.message).toMatch(/database is out of disk space: free space/);
      await fleet.hosts[0]!.agent.waitForLog(
        (l) => l.event === 'heartbeat-failed' && String(l.message).includes('out of disk space'),
        30_000,
      );
      expect(fleet.server.output()).toMatch(/out of disk space/);
      // It keeps serving what needs no space (reads), and does not exit.
      expect((await hostView(fleet, 0)).id).toBe(fleet.hosts[0]!.hostId);
      process.kill(fleet.server.pid, 0);
    } finally {
      rmSync(filler, { force: true });
    }

    // Space freed: the file is whole, everything committed before is there, and work resumes.
    expect(await fleet.db.$queryRawUnsafe('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(await fleet.db.host.findMany({ orderBy: { id: 'asc' } })).toHaveLength(committed.hosts.length);
    expect(await fleet.db.jobTarget.findMany({ where: { jobId: before }, orderBy: { id: 'asc' } })).toEqual(
      committed.rows,
    );
    expect(await fleet.db.auditEvent.count()).toBeGreaterThanOrEqual(committed.audit);
    await fleet.hosts[0]!.agent.waitForLog((l) => l.event === 'heartbeat-restored', 30_000);
    for (const id of created) {
      await finished(fleet, id);
      await assertNoLostOrHangingRows(fleet.db, id, { hostIds: [fleet.hosts[0]!.hostId] });
    }
    const after = await createJob(fleet, { kind: 'register', targets: ['s390x'] }, [0, 1]);
    expect(await outcome(fleet, await finished(fleet, after))).toEqual(SUCCEEDED);
    await assertNoLostOrHangingRows(fleet.db, after, {
      hostIds: [0, 1].map((i) => fleet.hosts[i]!.hostId),
      kernel: fleet.kernelOf,
    });
  }, 120_000);
});

/** Writes a file until the file system has no byte left; returns its path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0xaa);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

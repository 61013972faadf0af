import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRegisterLine, targetRegisterSpec, type KernelEntry } from '@binfleet/arch-table';
import { createDb, migrateDeploy, type Db } from '@binfleet/db';
import {
  createThrowawayPostgresDatabase,
  createThrowawaySqliteDatabase,
  type ThrowawayDatabase,
} from '@binfleet/db/testing';
import {
  buildArm64Image,
  startAgent,
  startSandbox,
  type AgentProcess,
  type Sandbox,
} from '@binfleet/test-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './testing/api-client.ts';
import { startControlPlaneProcess, type ControlPlaneProcess } from './testing/control-plane-process.ts';
import { assertNoLostOrHangingRows } from './testing/job-assertions.ts';
import { kernelEntries } from './testing/kernel-entries.ts';
import { until } from './testing/waiting.ts';

// Faults under a small real fleet: agents in their own kernel binfmt_misc sandboxes, the control
// plane as a real process, on SQLite and on PostgreSQL. Every test ends with a job whose rows are
// all final, one per selected host, none leased, matching the kernels (assertNoLostOrHangingRows).
const ADMIN = { username: 'admin', password: 'admin-password-1' };
const FINAL = ['succeeded', 'failed', 'cancelled'];

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

interface FleetOptions {
  readonly database: ThrowawayDatabase;
  readonly agents: number;
  readonly serverEnv?: Record<string, string>;
}

/** N agents (each in a sandbox, with its own state dir and a fixed port) joined to one control plane. */
class Fleet {
  db!: Db;
  server!: ControlPlaneProcess;
  admin!: ApiClient;
  dataDir!: string;
  joinToken!: string;
  readonly sandboxes: Sandbox[] = [];
  readonly agents: (AgentProcess | undefined)[] = [];
  readonly stateDirs: string[] = [];
  readonly ports: number[] = [];
  readonly hostIds: string[] = [];

  constructor(readonly options: FleetOptions) {}

  env(): Record<string, string> {
    return {
      DATABASE_URL: this.options.database.url,
      BINFLEET_DATA_DIR: this.dataDir,
      BINFLEET_ADMIN_USERNAME: ADMIN.username,
      BINFLEET_ADMIN_PASSWORD: ADMIN.password,
      BINFLEET_INSECURE_COOKIES: '1',
      BINFLEET_HEARTBEAT_INTERVAL_MS: '1000',
      BINFLEET_RUNNER_POLL_MS: '200',
      BINFLEET_AGENT_CALL_TIMEOUT_MS: '4000',
      BINFLEET_RUNNER_LEASE_MS: '1000',
      BINFLEET_JOB_MAX_ATTEMPTS: '2',
      ...this.options.serverEnv,
    };
  }

  async start(): Promise<void> {
    this.dataDir = mkdtempSync(join(tmpdir(), 'binfleet-faults-'));
    await migrateDeploy(this.options.database.url);
    this.db = createDb(this.options.database.url);
    this.server = await startControlPlaneProcess(this.env());
    this.admin = await ApiClient.signIn(this.server.url, ADMIN.username, ADMIN.password);
    ({ token: this.joinToken } = await this.admin.ok(
      this.admin.mutation<{ token: string }>('tokens.create', {
        label: 'fault fleet',
        expiresInHours: 1,
        maxUses: 20,
      }),
    ));
    for (let i = 0; i < this.options.agents; i++) await this.addAgent();
  }

  /** A new sandbox and agent joined with the fleet's token; returns its index. */
  async addAgent(env: Record<string, string> = {}): Promise<number> {
    const i = this.sandboxes.length;
    this.sandboxes.push(await startSandbox());
    this.stateDirs.push(mkdtempSync(join(this.dataDir, `agent-${i}-`)));
    const agent = await startAgent(this.sandboxes[i]!, {
      stateDir: this.stateDirs[i]!,
      args: ['--server', this.server.url, '--join-token', this.joinToken, ...this.agentArgs()],
      env: env as NodeJS.ProcessEnv,
    });
    this.agents[i] = agent;
    this.ports[i] = Number(new URL(agent.url).port);
    await agent.waitForLog((l) => l.event === 'joined', 30_000);
    const { link } = JSON.parse(readFileSync(join(this.stateDirs[i]!, 'fleet-link.json'), 'utf8')) as {
      link: { hostId: string };
    };
    this.hostIds[i] = link.hostId;
    await until(`host ${i} online`, async () => (await this.host(i)).online);
    return i;
  }

  private agentArgs(): string[] {
    return [
      '--heartbeat-interval',
      '1s',
      '--reconcile-interval',
      '2s',
      '--verify-image',
      'binfleet-test/{debian}-busybox:latest',
    ];
  }

  /** Starts agent i again with the same state dir and port (it heartbeats with the link it kept). */
  async restartAgent(i: number, env: Record<string, string> = {}): Promise<AgentProcess> {
    await this.agents[i]?.stop('SIGKILL');
    const agent = await startAgent(this.sandboxes[i]!, {
      stateDir: this.stateDirs[i]!,
      args: [...this.agentArgs(), '--listen', `127.0.0.1:${this.ports[i]}`],
      env: env as NodeJS.ProcessEnv,
    });
    this.agents[i] = agent;
    return agent;
  }

  /** Same address, as a restarted service has: the agents' heartbeats carry on. */
  async restartServer(): Promise<void> {
    this.server = await startControlPlaneProcess(this.env(), Number(new URL(this.server.url).port));
    this.admin = await ApiClient.signIn(this.server.url, ADMIN.username, ADMIN.password);
  }

  kernel(i: number): KernelEntry[] {
    return kernelEntries(this.sandboxes[i]!);
  }

  /** For assertNoLostOrHangingRows: a host's kernel by host id. */
  readonly kernelOf = (hostId: string) => {
    const i = this.hostIds.indexOf(hostId);
    return i < 0 ? undefined : this.kernel(i);
  };

  host(i: number): Promise<HostView> {
    return this.admin.ok(this.admin.query<HostView>('fleet.host', { id: this.hostIds[i] }));
  }

  async createJob(params: Record<string, unknown>, hosts: readonly number[]): Promise<string> {
    const { id } = await this.admin.ok(
      this.admin.mutation<{ id: string }>('jobs.create', {
        params,
        selection: { hostIds: hosts.map((i) => this.hostIds[i]) },
      }),
    );
    return id;
  }

  /** Waits for the job to be final through the API; errors of the API while it recovers are retried. */
  finished(id: string, timeoutMs = 90_000): Promise<JobView> {
    return until(
      `job ${id} to finish`,
      async () => {
        const r = await this.admin.query<JobView>('jobs.get', { id }).catch(() => undefined);
        return r?.data && FINAL.includes(r.data.status) && r.data;
      },
      timeoutMs,
    );
  }

  rowRunning(jobId: string, i: number): Promise<boolean> {
    return until(`the row of host ${i} to be running`, async () => {
      const row = await this.db.jobTarget.findFirst({ where: { jobId, hostId: this.hostIds[i] } });
      return row?.status === 'running';
    });
  }

  async stop(): Promise<void> {
    for (const a of this.agents) await a?.stop('SIGKILL').catch(() => undefined);
    for (const s of this.sandboxes) await s.stop();
    await this.server?.stop();
    await this.db?.$disconnect();
    await this.options.database.drop();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

describe.each([
  ['SQLite', createThrowawaySqliteDatabase],
  ['PostgreSQL', () => createThrowawayPostgresDatabase('binfleet_faults')],
] as const)('faults on %s', (name, makeDatabase) => {
  let fleet: Fleet;
  const all = [0, 1, 2, 3];

  beforeAll(async () => {
    fleet = new Fleet({ database: await makeDatabase(), agents: 4 });
    await fleet.start();
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('agents killed -9 mid-job: their rows fail saying the agent is unreachable, the others succeed; restarted, a re-run succeeds', async () => {
    // Frozen first, so their rows are surely in progress when they die.
    for (const i of [2, 3]) process.kill(fleet.agents[i]!.pid, 'SIGSTOP');
    const params = { kind: 'reset-register', targets: ['aarch64', 's390x', 'riscv64'], persistent: true };
    const id = await fleet.createJob(params, all);
    for (const i of [2, 3]) await fleet.rowRunning(id, i);
    for (const i of [2, 3]) await fleet.agents[i]!.stop('SIGKILL');

    const done = await fleet.finished(id);
    const rows = await assertNoLostOrHangingRows(fleet.db, id, {
      hostIds: all.map((i) => fleet.hostIds[i]!),
      kernel: fleet.kernelOf,
    });
    expect(done.status).toBe('failed');
    for (const i of [0, 1]) {
      expect(rows.find((r) => r.hostId === fleet.hostIds[i])!.status).toBe('succeeded');
      expect(fleet.kernel(i).map((e) => e.name)).toEqual(['qemu-aarch64', 'qemu-riscv64', 'qemu-s390x']);
    }
    for (const i of [2, 3]) {
      const row = rows.find((r) => r.hostId === fleet.hostIds[i])!;
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(/unreachable.*check that binfleet-agent is running there/);
      expect(row.attempts).toBe(2);
    }

    for (const i of [2, 3]) await fleet.restartAgent(i);
    const again = await fleet.createJob(params, [2, 3]);
    expect((await fleet.finished(again)).status).toBe('succeeded');
    await assertNoLostOrHangingRows(fleet.db, again, {
      hostIds: [2, 3].map((i) => fleet.hostIds[i]!),
      kernel: fleet.kernelOf,
    });
    for (const i of [2, 3])
      expect(fleet.kernel(i).map((e) => e.name)).toEqual(['qemu-aarch64', 'qemu-riscv64', 'qemu-s390x']);
  }, 120_000);

  it('the control plane killed -9 mid-job and restarted: the job completes, applied once per host in effect', async () => {
    process.kill(fleet.agents[0]!.pid, 'SIGSTOP');
    const id = await fleet.createJob({ kind: 'register', targets: ['ppc64le'], persistent: true }, all);
    await fleet.rowRunning(id, 0);
    await fleet.server.stop('SIGKILL');
    process.kill(fleet.agents[0]!.pid, 'SIGCONT');
    await fleet.restartServer();

    expect((await fleet.finished(id)).status).toBe('succeeded');
    const rows = await assertNoLostOrHangingRows(fleet.db, id, {
      hostIds: all.map((i) => fleet.hostIds[i]!),
      kernel: fleet.kernelOf,
    });
    // The row of the frozen host was run again by the new runner once the dead one's lease ran out;
    // registering twice is harmless: one entry, as asked, and one job with one row per host.
    const row0 = rows.find((r) => r.hostId === fleet.hostIds[0])!;
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
      process.kill(fleet.agents[1]!.pid, 'SIGSTOP');
      let resumed = false;
      try {
        const id = await fleet.createJob({ kind: 'enable', targets: ['s390x'] }, all);
        await fleet.rowRunning(id, 1);
        execFileSync('pg_ctlcluster', ['15', 'main', 'restart'], { stdio: 'pipe' });
        process.kill(fleet.agents[1]!.pid, 'SIGCONT');
        resumed = true;
        const done = await fleet.finished(id);
        await assertNoLostOrHangingRows(fleet.db, id, {
          hostIds: all.map((i) => fleet.hostIds[i]!),
          kernel: fleet.kernelOf,
        });
        expect(done.status).toBe('succeeded');
        // The server went through it without dying, and answers again.
        expect(fleet.server.output()).not.toMatch(/exited/);
        expect((await fleet.host(0)).online).toBe(true);
      } finally {
        if (!resumed) process.kill(fleet.agents[1]!.pid, 'SIGCONT');
        ensurePostgresRunning();
      }
    },
    120_000,
  );

  it.runIf(name === 'SQLite')(
    'clock skew: agents 5 h ahead and behind stay online, dated by the server, with jobs and snapshots in order',
    async () => {
      const skewed = [] as number[];
      for (const offset of ['+5h', '-5h']) skewed.push(await fleet.addAgent(fakeClock(offset)));
      // The skew is real: the agents' own log lines carry their wall clock.
      for (const [k, sign] of [
        [0, 1],
        [1, -1],
      ] as const) {
        const joined = await fleet.agents[skewed[k]!]!.waitForLog((l) => l.event === 'joined');
        const skew = Date.parse(String(joined.time)) - Date.now();
        expect(Math.abs(skew - sign * 5 * 3600_000)).toBeLessThan(120_000);
      }
      const id = await fleet.createJob({ kind: 'register', targets: ['mips64el'], persistent: true }, skewed);
      expect((await fleet.finished(id)).status).toBe('succeeded');
      const rows = await assertNoLostOrHangingRows(fleet.db, id, {
        hostIds: skewed.map((i) => fleet.hostIds[i]!),
        kernel: fleet.kernelOf,
      });
      // Leases are the server's business: one attempt each, not taken over as expired.
      expect(rows.map((r) => r.attempts)).toEqual([1, 1]);

      for (const i of skewed) {
        // A few heartbeats later: still online, last seen by the server's clock, and the entries the
        // job registered were neither overwritten by an older view nor dated in the future.
        const seen = new Date((await fleet.host(i)).lastSeenAt).getTime();
        await until(`3 more heartbeats of host ${i}`, async () => {
          const view = await fleet.host(i);
          return new Date(view.lastSeenAt).getTime() > seen + 2500 && view;
        });
        const view = await fleet.host(i);
        expect(view.online).toBe(true);
        expect(Math.abs(new Date(view.lastSeenAt).getTime() - Date.now())).toBeLessThan(10_000);
        expect(view.entries.map((e) => e.name)).toEqual(fleet.kernel(i).map((e) => e.name));
        expect(view.entries.map((e) => e.name)).toContain('qemu-mips64el');
        const snapshots = await fleet.db.hostSnapshot.findMany({ where: { hostId: fleet.hostIds[i] } });
        for (const s of snapshots) expect(s.takenAt.getTime()).toBeLessThanOrEqual(Date.now());
      }
    },
    120_000,
  );

  it.runIf(name === 'SQLite')(
    'binfmt_misc unmounted under an agent: heartbeats and the API show it, jobs fail saying how to mount it; remounted, the desired state comes back',
    async () => {
      const sandbox = fleet.sandboxes[0]!;
      const set = await fleet.createJob(
        { kind: 'reset-register', targets: ['aarch64'], persistent: true },
        [0],
      );
      expect((await fleet.finished(set)).status).toBe('succeeded');

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
          const v = await fleet.host(0);
          return v.facts.binfmt?.mounted === false && v;
        });
        expect(view.online).toBe(true);
        expect(view.entries).toEqual([]);

        const id = await fleet.createJob({ kind: 'register', targets: ['s390x'] }, [0]);
        const done = await fleet.finished(id);
        expect(done.status).toBe('failed');
        expect(done.targets[0]!.error).toContain('binfmt_misc is not mounted at /proc/sys/fs/binfmt_misc');
        expect(done.targets[0]!.error).toContain('mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc');
        await assertNoLostOrHangingRows(fleet.db, id, { hostIds: [fleet.hostIds[0]!] });
        // The agent's reconciler hits the same wall and says so in its log.
        await fleet.agents[0]!.waitForLog(
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
        const v = await fleet.host(0);
        return v.facts.binfmt?.mounted === true && v.entries.some((e) => e.name === 'qemu-aarch64');
      });
      const again = await fleet.createJob({ kind: 'register', targets: ['s390x'] }, [0]);
      expect((await fleet.finished(again)).status).toBe('succeeded');
      await assertNoLostOrHangingRows(fleet.db, again, {
        hostIds: [fleet.hostIds[0]!],
        kernel: fleet.kernelOf,
      });
    },
    120_000,
  );

  it.runIf(name === 'SQLite')(
    'a host rebooted (empty binfmt_misc, agent restarted with its state dir): desired state re-applied, same host row',
    async () => {
      const set = await fleet.createJob(
        { kind: 'reset-register', targets: ['aarch64', 'mips64el'], persistent: true },
        [1],
      );
      expect((await fleet.finished(set)).status).toBe('succeeded');
      const before = fleet.kernel(1);
      const hostsBefore = await fleet.db.host.count();

      await fleet.agents[1]!.stop('SIGKILL');
      await fleet.sandboxes[1]!.stop();
      fleet.sandboxes[1] = await startSandbox();
      expect(fleet.kernel(1)).toEqual([]);
      await fleet.restartAgent(1);

      await until('the agent to re-apply its desired state', async () =>
        JSON.stringify(fleet.kernel(1)) === JSON.stringify(before) ? true : undefined,
      );
      await until('the API to show the host back in sync', async () => {
        const v = await fleet.host(1);
        return (
          v.online &&
          JSON.stringify(v.entries.map((e) => e.name)) === JSON.stringify(before.map((e) => e.name))
        );
      });
      expect(await fleet.db.host.count()).toBe(hostsBefore);
      const id = await fleet.createJob({ kind: 'verify', targets: ['aarch64'] }, [1]);
      await fleet.finished(id);
      await assertNoLostOrHangingRows(fleet.db, id, { hostIds: [fleet.hostIds[1]!], kernel: fleet.kernelOf });
    },
    120_000,
  );

  it.runIf(name === 'SQLite')(
    'dockerd stopped during a container verify job: rows fail saying dockerd is not reachable; restarted, a re-run passes',
    async () => {
      const hosts = [0, 1, 2];
      buildArm64Image(ARM64_IMAGE);
      const machine = registerMachineAarch64();
      let dockerd: DockerdProcess | undefined;
      let frozen = false;
      try {
        const set = await fleet.createJob(
          { kind: 'register', targets: ['aarch64'], persistent: true },
          hosts,
        );
        expect((await fleet.finished(set)).status).toBe('succeeded');
        const baseline = await fleet.createJob({ kind: 'verify', targets: ['aarch64'] }, hosts);
        expect((await fleet.finished(baseline)).status).toBe('succeeded');

        // The agents frozen with their verify call received, so dockerd surely stops during the job.
        for (const i of hosts) process.kill(fleet.agents[i]!.pid, 'SIGSTOP');
        frozen = true;
        const id = await fleet.createJob({ kind: 'verify', targets: ['aarch64'] }, hosts);
        for (const i of hosts) await fleet.rowRunning(id, i);
        dockerd = await stopDockerd();
        for (const i of hosts) process.kill(fleet.agents[i]!.pid, 'SIGCONT');
        frozen = false;
        const done = await fleet.finished(id);
        const rows = await assertNoLostOrHangingRows(fleet.db, id, {
          hostIds: hosts.map((i) => fleet.hostIds[i]!),
          kernel: fleet.kernelOf,
        });
        expect(done.status).toBe('failed');
        for (const row of rows.filter((r) => r.status === 'failed')) {
          expect(row.error).toMatch(/dockerd is not reachable/);
          expect(row.error).toMatch(/start dockerd/);
        }

        await dockerd.restart();
        const again = await fleet.createJob({ kind: 'verify', targets: ['aarch64'] }, hosts);
        expect((await fleet.finished(again)).status).toBe('succeeded');
        await assertNoLostOrHangingRows(fleet.db, again, {
          hostIds: hosts.map((i) => fleet.hostIds[i]!),
          kernel: fleet.kernelOf,
        });
      } finally {
        if (frozen) for (const i of hosts) process.kill(fleet.agents[i]!.pid, 'SIGCONT');
        await dockerd?.restart();
        machine.restore();
        execFileSync('docker', ['rmi', '-f', ARM64_IMAGE], { stdio: 'ignore' });
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

const MACHINE_BINFMT = '/proc/sys/fs/binfmt_misc';

/**
 * Containers of dockerd use the machine's own binfmt_misc: qemu-aarch64 (F) registered there for the
 * container checks, and restore() puts the machine back as it was.
 */
function registerMachineAarch64(): { restore(): void } {
  const mounted = existsSync(`${MACHINE_BINFMT}/register`);
  if (!mounted) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', MACHINE_BINFMT]);
  const entry = `${MACHINE_BINFMT}/qemu-aarch64`;
  const existed = existsSync(entry);
  if (existed && !/^enabled$/m.test(readFileSync(entry, 'utf8')))
    throw new Error(`${entry} exists but is disabled on this machine: enable or remove it before this test`);
  if (!existed) {
    const line = encodeRegisterLine(
      targetRegisterSpec('aarch64', { interpreterDir: '/usr/bin', suffix: '-static', persistent: true }),
    );
    writeFileSync(`${MACHINE_BINFMT}/register`, line);
  }
  return {
    restore() {
      if (!existed && existsSync(entry)) writeFileSync(entry, '-1');
      if (!mounted) execFileSync('umount', [MACHINE_BINFMT]);
    },
  };
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
  await until('dockerd to exit', async () => !existsSync(proc), 60_000);
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
    fleet = new Fleet({ database: { url: `file:${file()}`, drop: async () => {} }, agents: 2 });
    await fleet.start();
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
    if (mounted) execFileSync('umount', [disk]);
    if (disk) rmSync(disk, { recursive: true, force: true });
  });

  it('reports the full disk clearly, keeps running, loses and corrupts nothing, and resumes once space is freed', async () => {
    const before = await fleet.createJob({ kind: 'register', targets: ['aarch64'] }, [0, 1]);
    expect((await fleet.finished(before)).status).toBe('succeeded');
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
        const r = await fleet.admin.mutation<{ id: string }>('jobs.create', {
          params: { kind: 'register', targets: ['s390x'] },
          selection: { hostIds: [fleet.hostIds[0]] },
        });
        if (r.data) created.push(r.data.id);
        return r.error && { status: r.status, message: r.error.message };
      });
      expect(refusal.status).toBe(500);
      expect(refusal.message).toMatch(/database is out of disk space: free space/);
      await fleet.agents[0]!.waitForLog(
        (l) => l.event === 'heartbeat-failed' && String(l.message).includes('out of disk space'),
        30_000,
      );
      expect(fleet.server.output()).toMatch(/out of disk space/);
      // It keeps serving what needs no space (reads), and does not exit.
      expect((await fleet.host(0)).id).toBe(fleet.hostIds[0]);
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
    await fleet.agents[0]!.waitForLog((l) => l.event === 'heartbeat-restored', 30_000);
    for (const id of created) {
      await fleet.finished(id);
      await assertNoLostOrHangingRows(fleet.db, id, { hostIds: [fleet.hostIds[0]!] });
    }
    const after = await fleet.createJob({ kind: 'register', targets: ['s390x'] }, [0, 1]);
    expect((await fleet.finished(after)).status).toBe('succeeded');
    await assertNoLostOrHangingRows(fleet.db, after, {
      hostIds: [0, 1].map((i) => fleet.hostIds[i]!),
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

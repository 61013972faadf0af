/**
 * Fills a LOCAL binfleet database with a fake fleet for screenshots and the 1,000-host bench:
 * hosts with realistic facts, kernel entries built from the arch table (some missing, disabled,
 * drifted, extra), some offline, self-test results, jobs in every state, policies and users, and a
 * registry with tags and the builds that pushed them (seed-images.ts).
 *
 *   DATABASE_URL=file:$PWD/data/ui/binfleet.db BINFLEET_DATA_DIR=$PWD/data/ui \
 *     pnpm --filter @binfleet/web exec tsx scripts/seed-fleet.ts [--hosts 1000] [--live [--heartbeat-ms 10000]]
 *
 * Re-running replaces the hosts it made before (agent ids `seed-*`); other hosts are left alone.
 * `--live` keeps running and heartbeats for the hosts meant to be online, so they stay online (every
 * `--heartbeat-ms`: shorter than the server's BINFLEET_HEARTBEAT_INTERVAL_MS times its missed beats).
 * BINFLEET_DATA_DIR must be the server's: agent credentials are sealed with its key.
 */
import {
  expectedEntry,
  flagOptionsOf,
  targetRegisterSpec,
  targetsForHost,
  type KernelEntry,
  type TargetId,
} from '@binfleet/arch-table';
import {
  createDb,
  createSecretBox,
  loadOrCreateSecretKeyFile,
  migrateDeploy,
  resolveDatabaseUrl,
  type Db,
  type Prisma,
  type RunStatus,
} from '@binfleet/db';
import { parseArgs } from 'node:util';
import { readWebConfig } from '../src/server/env.ts';
import { hashPassword } from '../src/server/security/passwords.ts';
import { hashToken, newToken } from '../src/server/security/tokens.ts';
import { AuditService } from '../src/server/services/audit.ts';
import { SelfTests } from '../src/server/services/hosts/self-tests.ts';
import { HostSnapshots } from '../src/server/services/hosts/snapshots.ts';
import { DEFAULT_POLICY, type PolicySpec } from '../src/server/services/policy.ts';
import { describeJob, type JobParams } from '../src/shared/job-kinds.ts';
import { seedImages } from './seed-images.ts';

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1000' },
    live: { type: 'boolean', default: false },
    'heartbeat-ms': { type: 'string', default: '10000' },
    seed: { type: 'string', default: '42' },
  },
});

const HOST_COUNT = Number(args.hosts);
if (!Number.isInteger(HOST_COUNT) || HOST_COUNT < 1 || HOST_COUNT > 20_000)
  fail('--hosts must be a whole number from 1 to 20000.');

const SEED_PREFIX = 'seed-';
const SEED_PASSWORD = 'seed-password-1';
const HEARTBEAT_MS = Number(args['heartbeat-ms']);
if (!Number.isInteger(HEARTBEAT_MS) || HEARTBEAT_MS < 100 || HEARTBEAT_MS > 3_600_000)
  fail('--heartbeat-ms must be a whole number from 100 to 3600000.');

function fail(message: string): never {
  console.error(`seed-fleet: ${message}`);
  process.exit(2);
}

/** Only a SQLite file or a PostgreSQL server on this machine: seeding replaces hosts. */
function assertLocal(url: string): void {
  if (url.startsWith('file:')) return;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    fail('DATABASE_URL is not a URL.');
  }
  const socket = new URL(url).searchParams.get('host')?.startsWith('/');
  if (!['localhost', '127.0.0.1', '[::1]', '::1', ''].includes(host) && !socket) {
    fail(
      `refusing to seed ${host}: only a local database (file:, localhost, 127.0.0.1) may be filled with fake hosts.`,
    );
  }
}

// Deterministic, so screenshots and bench runs see the same fleet.
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
    weighted: <T>(items: readonly (readonly [T, number])[]): T => {
      let r = next() * items.reduce((n, [, w]) => n + w, 0);
      for (const [item, w] of items) if ((r -= w) < 0) return item;
      return items.at(-1)![0];
    },
  };
}
const rand = rng(Number(args.seed));

const UNAME: Partial<Record<TargetId, string>> = {
  aarch64: 'aarch64',
  arm: 'armv7l',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  i386: 'i686',
  x86_64: 'x86_64',
  mips64el: 'mips64',
  loongarch64: 'loongarch64',
};

const KERNELS: Record<string, readonly string[]> = {
  x86_64: ['6.1.0-28-amd64', '6.1.0-31-amd64', '6.8.0-52-generic', '6.12.12+bpo-amd64', '5.15.0-131-generic'],
  aarch64: ['6.1.0-28-arm64', '6.8.0-52-generic', '6.12.12+bpo-arm64'],
  ppc64le: ['6.1.0-28-powerpc64le', '5.14.0-503.el9.ppc64le'],
  s390x: ['6.1.0-28-s390x', '5.14.0-503.el9.s390x'],
};

const DOCKER = ['20.10.24+dfsg1', '24.0.7', '26.1.5', '27.3.1', '27.5.1'];
const QEMU = [
  { version: '7.2.19', package: 'Debian 1:7.2+dfsg-7+deb12u18' },
  { version: '8.2.2', package: 'Debian 1:8.2.2+ds-0ubuntu1.4' },
  { version: '9.2.0', package: 'Debian 1:9.2.0+ds-5' },
];

const GROUPS: Record<string, readonly (readonly [string | null, number])[]> = {
  x86_64: [
    ['ci-x86', 60],
    ['build', 22],
    ['release', 10],
    [null, 8],
  ],
  aarch64: [
    ['ci-arm', 80],
    ['release', 10],
    [null, 10],
  ],
  ppc64le: [
    ['build', 70],
    [null, 30],
  ],
  s390x: [
    ['build', 70],
    [null, 30],
  ],
};
const SITES = ['fra1', 'ams2', 'iad1', 'sfo3'];

const GROUP_POLICIES: Record<string, PolicySpec> = {
  release: {
    targets: ['aarch64', 'arm', 'ppc64le', 's390x', 'riscv64'],
    flags: 'OCF',
    interpreterDir: '/usr/bin',
    suffix: '-static',
    autoHeal: true,
  },
};

function policyFor(group: string | null): PolicySpec {
  return (group && GROUP_POLICIES[group]) || DEFAULT_POLICY;
}

interface SeedHost {
  id: string;
  hostname: string;
  arch: string;
  group: string | null;
  online: boolean;
  docker: boolean;
  entries: KernelEntry[];
}

type Flaw = 'none' | 'missing' | 'disabled' | 'old-flags' | 'other-interpreter' | 'extra' | 'empty';

/** The entries a host's kernel would show, from the arch table, with one kind of real-world flaw. */
function entriesFor(arch: string, policy: PolicySpec, flaw: Flaw): KernelEntry[] {
  const wanted = policy.targets.length ? [...policy.targets] : targetsForHost(arch);
  if (flaw === 'empty') return [];
  const spec = (t: TargetId, over: Partial<PolicySpec> = {}) => {
    const p = { ...policy, ...over };
    return expectedEntry(
      targetRegisterSpec(t, {
        interpreterDir: p.interpreterDir,
        suffix: p.suffix,
        ...flagOptionsOf(p.flags),
      }),
    );
  };
  let entries = wanted.map((t) => spec(t));
  if (flaw === 'missing') {
    const drop = new Set(Array.from({ length: rand.int(1, 3) }, () => rand.pick(wanted)));
    entries = entries.filter((e) => !drop.has(e.name.slice(5) as TargetId));
  }
  if (flaw === 'disabled') {
    const off = rand.pick(entries).name;
    entries = entries.map((e) => (e.name === off ? { ...e, enabled: false } : e));
  }
  // The classic: registered by `docker run --privileged multiarch/qemu-user-static --reset` without `-p yes`.
  if (flaw === 'old-flags') entries = wanted.map((t) => spec(t, { flags: '' }));
  if (flaw === 'other-interpreter') {
    const t = rand.pick(wanted);
    entries = entries.map((e) =>
      e.name === `qemu-${t}` ? spec(t, { interpreterDir: '/usr/local/bin', suffix: '' }) : e,
    );
  }
  if (flaw === 'extra') {
    const others = targetsForHost(arch).filter((t) => !wanted.includes(t));
    if (others.length) entries.push(spec(rand.pick(others)));
  }
  return entries;
}

async function seedUsers(db: Db) {
  const admin = await db.user.findFirst({
    where: { role: 'admin', disabledAt: null },
    orderBy: { createdAt: 'asc' },
  });
  if (!admin)
    fail(
      'no admin exists yet: start the server once (it creates the first admin from BINFLEET_ADMIN_*) or run first-run setup.',
    );
  for (const [username, role] of [
    ['olivia', 'operator'],
    ['victor', 'viewer'],
  ] as const) {
    if (!(await db.user.findUnique({ where: { username } }))) {
      await db.user.create({ data: { username, role, passwordHash: await hashPassword(SEED_PASSWORD) } });
    }
  }
  return { admin, operator: await db.user.findUniqueOrThrow({ where: { username: 'olivia' } }) };
}

async function seedPolicies(db: Db, adminId: string) {
  const specs: [string | null, PolicySpec][] = [[null, DEFAULT_POLICY], ...Object.entries(GROUP_POLICIES)];
  for (const [groupName, spec] of specs) {
    const scopeKey = groupName ? `group:${groupName}` : 'fleet';
    const data = {
      targets: [...spec.targets],
      flags: spec.flags,
      interpreterDir: spec.interpreterDir,
      suffix: spec.suffix,
      autoHeal: spec.autoHeal,
      updatedById: adminId,
    };
    await db.policy.upsert({
      where: { scopeKey },
      create: { scope: groupName ? 'group' : 'fleet', groupName, scopeKey, ...data },
      update: data,
    });
  }
}

async function seedHosts(
  db: Db,
  snapshots: HostSnapshots,
  seal: (token: string, context: string) => string,
): Promise<SeedHost[]> {
  const now = Date.now();
  const out: SeedHost[] = [];
  const counters = new Map<string, number>();
  for (let i = 0; i < HOST_COUNT; i++) {
    const arch = rand.weighted([
      ['x86_64', 72],
      ['aarch64', 20],
      ['ppc64le', 4],
      ['s390x', 4],
    ] as const);
    const group = rand.weighted(GROUPS[arch]!);
    const site = rand.pick(SITES);
    const role = group ?? 'misc';
    const key = `${role}-${site}`;
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    const short = { x86_64: 'amd64', aarch64: 'arm64', ppc64le: 'ppc64le', s390x: 's390x' }[arch];
    const hostname = `${role}-${short}-${site}-${String(n).padStart(3, '0')}`;
    const online = rand.chance(0.93);
    const lastSeenAt = new Date(
      online ? now - rand.int(0, 8_000) : now - rand.int(3 * 60_000, 3 * 86_400_000),
    );
    const docker = rand.chance(0.86);
    const flaw = rand.weighted<Flaw>([
      ['none', 74],
      ['missing', 7],
      ['disabled', 5],
      ['old-flags', 5],
      ['other-interpreter', 3],
      ['extra', 4],
      ['empty', 2],
    ]);
    const policy = policyFor(group);
    const entries = entriesFor(arch, policy, flaw);
    if (rand.chance(0.1)) {
      entries.push({
        name: 'python3.11',
        enabled: true,
        interpreter: '/usr/bin/python3.11',
        flags: '',
        type: 'M',
        offset: 0,
        magic: 'a70d0d0a',
      });
    }
    const qemu = rand.pick(QEMU);
    const interpreterDir = policy.interpreterDir;
    const mounted = flaw !== 'empty' || rand.chance(0.5);
    const namespaced = rand.chance(0.02);
    const agentId = `${SEED_PREFIX}${String(i).padStart(5, '0')}`;
    const kernel = rand.pick(KERNELS[arch]!);
    const dockerVersion = docker ? rand.pick(DOCKER) : null;
    const facts = {
      hostname,
      machine: arch,
      kernelRelease: kernel,
      inUserNamespace: namespaced,
      binfmtNamespaced: namespaced,
      agentVersion: rand.pick(['0.1.0', '0.1.0', '0.0.9']),
      binfmt: { mountPoint: '/proc/sys/fs/binfmt_misc', mounted, writable: mounted, namespaced },
      docker: docker
        ? { reachable: true, version: dockerVersion, apiVersion: '1.41' }
        : { reachable: false, error: 'connect ENOENT /var/run/docker.sock' },
      interpreters: targetsForHost(arch).map((t) => ({
        target: t,
        path: targetRegisterSpec(t, { interpreterDir, suffix: policy.suffix }).interpreter,
        version: qemu.version,
        package: qemu.package,
      })),
    };
    const createdAt = new Date(now - rand.int(2, 240) * 86_400_000);
    const host = await db.host.create({
      data: {
        agentId,
        hostname,
        // Seeded hosts have no agent: a closed loopback port, so a job on one fails at once, offline.
        agentUrl: `http://127.0.0.1:9/${hostname}`,
        agentTokenSealed: seal(newToken('agent'), `host:${agentId}:agentToken`),
        heartbeatTokenHash: hashToken(newToken('agent')),
        arch,
        kernel,
        dockerVersion,
        facts: facts as Prisma.InputJsonValue,
        groupName: group,
        lastSeenAt,
        createdAt,
      },
      select: { id: true },
    });
    await snapshots.record(
      host.id,
      entries,
      new Date(Math.min(lastSeenAt.getTime(), now - rand.int(60_000, 7 * 86_400_000))),
    );
    await db.hostSnapshot.updateMany({ where: { hostId: host.id }, data: { lastSeenAt } });
    out.push({ id: host.id, hostname, arch, group, online, docker, entries });
    if ((i + 1) % 250 === 0) console.log(`  ${i + 1} hosts`);
  }
  return out;
}

interface SeedJob {
  params: JobParams;
  createdById: string | null;
  actor: { id: string | null; name: string };
  hosts: SeedHost[];
  minutesAgo: number;
  /** How each host's row ends up; `lease` rows stay running under a fake runner for a while. */
  outcome: (h: SeedHost, index: number) => { status: RunStatus; error?: string; attempts?: number };
}

async function seedJobs(
  db: Db,
  audit: AuditService,
  hosts: SeedHost[],
  users: { admin: { id: string; username: string }; operator: { id: string; username: string } },
) {
  const now = Date.now();
  const online = hosts.filter((h) => h.online);
  const unreachable = (h: SeedHost) =>
    `The agent on ${h.hostname} at http://127.0.0.1:9/${h.hostname} is unreachable (ECONNREFUSED): check that binfleet-agent is running there and the address is right. (after 3 attempts)`;
  const admin = { id: users.admin.id, name: users.admin.username };
  const operator = { id: users.operator.id, name: users.operator.username };
  const inGroup = (g: string) => hosts.filter((h) => h.group === g);
  const jobs: SeedJob[] = [
    {
      params: {
        kind: 'reset-register',
        usePolicy: false,
        persistent: true,
        credential: false,
        preserveArgv0: false,
      },
      createdById: admin.id,
      actor: admin,
      hosts: inGroup('ci-x86').slice(0, 120),
      minutesAgo: 60 * 26,
      outcome: (h) =>
        h.online
          ? { status: 'succeeded', attempts: 1 }
          : { status: 'failed', error: unreachable(h), attempts: 3 },
    },
    {
      params: { kind: 'verify', targets: ['aarch64', 'arm', 's390x', 'ppc64le', 'riscv64'] },
      createdById: operator.id,
      actor: operator,
      hosts: online.filter((h) => h.arch === 'x86_64').slice(0, 160),
      minutesAgo: 60 * 5,
      outcome: (h) => {
        const failing = h.entries.find(
          (e) =>
            ['qemu-aarch64', 'qemu-arm', 'qemu-s390x'].includes(e.name) &&
            (!e.enabled || !e.flags.includes('F')),
        );
        return failing
          ? {
              status: 'failed',
              error: `Verification failed: ${failing.name.slice(5)} (container): ${failing.enabled ? 'exec /usr/bin/uname: no such file or directory (the emulator is not in the container: register with F)' : `${failing.name} is disabled`}`,
              attempts: 1,
            }
          : { status: 'succeeded', attempts: 1 };
      },
    },
    {
      params: {
        kind: 'reset-register',
        usePolicy: true,
        persistent: false,
        credential: false,
        preserveArgv0: false,
      },
      createdById: null,
      actor: { id: null, name: 'system' },
      hosts: inGroup('release')
        .filter((h) => h.online)
        .slice(0, 3),
      minutesAgo: 95,
      outcome: () => ({ status: 'succeeded', attempts: 1 }),
    },
    {
      params: { kind: 'disable', targets: ['mips', 'mipsel', 'mipsn32', 'mipsn32el'] },
      createdById: operator.id,
      actor: operator,
      hosts: inGroup('build').slice(0, 40),
      minutesAgo: 50,
      outcome: (_h, i) =>
        i < 12
          ? { status: 'succeeded', attempts: 1 }
          : { status: 'cancelled', error: `Cancelled by ${operator.name}` },
    },
    {
      params: {
        kind: 'register',
        targets: ['riscv64', 'loongarch64'],
        persistent: true,
        credential: false,
        preserveArgv0: false,
      },
      createdById: operator.id,
      actor: operator,
      hosts: inGroup('ci-arm').slice(0, 96),
      minutesAgo: 2,
      outcome: (h, i) =>
        !h.online
          ? { status: 'failed', error: unreachable(h), attempts: 3 }
          : i < 58
            ? { status: 'succeeded', attempts: 1 }
            : i < 64
              ? { status: 'running', attempts: i % 3 === 0 ? 2 : 1 }
              : { status: 'queued' },
    },
  ];

  for (const job of jobs) {
    if (job.hosts.length === 0) continue;
    const createdAt = new Date(now - job.minutesAgo * 60_000);
    const rows = job.hosts.map((h, i) => ({ host: h, ...job.outcome(h, i) }));
    const open = rows.some((r) => r.status === 'queued' || r.status === 'running');
    const status: RunStatus = open
      ? 'running'
      : rows.some((r) => r.status === 'failed')
        ? 'failed'
        : rows.some((r) => r.status === 'succeeded')
          ? 'succeeded'
          : 'cancelled';
    const cancelled = rows.some((r) => r.status === 'cancelled');
    const finishedAt = open ? null : new Date(createdAt.getTime() + rand.int(20, 180) * 1000);
    const created = await db.job.create({
      data: {
        kind: job.params.kind,
        params: job.params as unknown as Prisma.InputJsonValue,
        createdById: job.createdById,
        createdAt,
        startedAt: new Date(createdAt.getTime() + 400),
        status,
        finishedAt,
        ...(cancelled ? { cancelRequestedAt: new Date(createdAt.getTime() + 20_000) } : {}),
      },
    });
    // Open rows belong to a runner that does not exist: their lease (and runAfter) keep the real
    // runner away for a while, so the running job can be looked at.
    const hold = new Date(now + 20 * 60_000);
    await db.jobTarget.createMany({
      data: rows.map((r, i) => {
        const started = new Date(createdAt.getTime() + 500 + i * 150);
        const done = r.status === 'succeeded' || r.status === 'failed';
        return {
          jobId: created.id,
          hostId: r.host.id,
          status: r.status,
          attempts: r.attempts ?? 0,
          runAfter: r.status === 'queued' ? hold : createdAt,
          ...(r.status === 'running'
            ? { claimedBy: 'seed-runner', claimedAt: started, leaseExpiresAt: hold, startedAt: started }
            : {}),
          ...(done
            ? {
                startedAt: started,
                finishedAt: new Date(started.getTime() + rand.int(180, 2400) + (r.attempts ?? 1) * 1000),
              }
            : {}),
          ...(r.status === 'cancelled' ? { finishedAt: new Date(createdAt.getTime() + 20_000) } : {}),
          ...(r.error ? { error: r.error } : {}),
          ...(r.status === 'succeeded'
            ? { result: { entries: r.host.entries } as unknown as Prisma.InputJsonValue }
            : {}),
        };
      }),
    });
    if (job.params.kind === 'verify')
      await seedVerify(
        db,
        created.id,
        rows.map((r) => r.host),
        createdAt,
      );
    await audit.record({
      actor: job.actor,
      action: `job.${job.params.kind}`,
      targets: job.hosts.map((h) => h.hostname),
      params: { jobId: created.id, ...job.params },
      outcome: 'success',
      detail: describeJob(job.params),
    });
    if (cancelled)
      await audit.record({
        actor: job.actor,
        action: 'job.cancel',
        targets: [created.id],
        outcome: 'success',
      });
  }
}

/** Self-test results as the agent's two methods report them: a foreign binary, a foreign container. */
async function seedVerify(db: Db, jobId: string, hosts: SeedHost[], at: Date) {
  const data: Prisma.VerifyResultCreateManyInput[] = [];
  for (const h of hosts) {
    for (const e of h.entries) {
      const target = e.name.slice(5) as TargetId;
      if (!['aarch64', 'arm', 's390x', 'ppc64le', 'riscv64'].includes(target)) continue;
      const uname = UNAME[target] ?? target;
      data.push({
        hostId: h.id,
        jobId,
        target,
        method: 'probe',
        status: e.enabled ? 'passed' : 'failed',
        output: e.enabled ? uname : `exec format error: ${e.name} is disabled`,
        durationMs: rand.int(18, 95),
        at,
      });
      if (h.docker) {
        const ok = e.enabled && e.flags.includes('F');
        data.push({
          hostId: h.id,
          jobId,
          target,
          method: 'container',
          status: ok ? 'passed' : 'failed',
          output: ok
            ? uname
            : e.enabled
              ? 'exec /usr/bin/uname: no such file or directory'
              : `exec format error: ${e.name} is disabled`,
          durationMs: rand.int(850, 2400),
          at: new Date(at.getTime() + 1000),
        });
      }
    }
  }
  for (let i = 0; i < data.length; i += 500)
    await db.verifyResult.createMany({ data: data.slice(i, i + 500) });
  // Written in bulk, not through SelfTests.record per host: each host's outcome once, at the end.
  await new SelfTests(db).refreshAll();
}

/** A password guess run against one account, as the audit page should fold it: many failures, few lines. */
async function seedSignInNoise(audit: AuditService) {
  for (let i = 0; i < 48; i++) {
    await audit.record({
      actor: { id: null, name: 'root' },
      action: 'auth.login',
      targets: ['root', `from:203.0.113.${10 + (i % 12)}`],
      outcome: 'failure',
    });
  }
}

async function main() {
  const config = readWebConfig();
  const url = resolveDatabaseUrl(config.databaseUrl);
  assertLocal(url);
  console.log(`seed-fleet: ${HOST_COUNT} hosts into ${url}`);
  // A running server has applied the migrations (and holds the SQLite file): migrate only a fresh database.
  let db = createDb(url);
  if (
    !(await db.host.count().then(
      () => true,
      () => false,
    ))
  ) {
    await db.$disconnect();
    await migrateDeploy(url);
    db = createDb(url);
  }
  const secrets = createSecretBox(loadOrCreateSecretKeyFile(config.secretKeyFile));
  const audit = new AuditService(db);

  const users = await seedUsers(db);
  const removed = await db.host.deleteMany({ where: { agentId: { startsWith: SEED_PREFIX } } });
  await db.job.deleteMany({ where: { targets: { none: {} } } });
  if (removed.count) console.log(`  replaced ${removed.count} hosts from an earlier seed`);
  await seedPolicies(db, users.admin.id);
  const started = Date.now();
  const hosts = await seedHosts(db, new HostSnapshots(db), (token, context) => secrets.seal(token, context));
  await seedJobs(db, audit, hosts, users);
  await seedImages(db, users.admin.id, hosts.find((h) => h.group === 'build')?.id);
  await seedSignInNoise(audit);
  await audit.record({
    actor: { id: users.admin.id, name: users.admin.username },
    action: 'policy.set',
    targets: ['group:release'],
    params: GROUP_POLICIES.release as unknown as Record<string, unknown>,
    outcome: 'success',
  });
  console.log(
    `seed-fleet: done in ${((Date.now() - started) / 1000).toFixed(1)} s. Users olivia (operator) and victor (viewer), password ${SEED_PASSWORD}.`,
  );

  if (!args.live) {
    await db.$disconnect();
    return;
  }
  const onlineIds = hosts.filter((h) => h.online).map((h) => h.id);
  console.log(
    `seed-fleet: heartbeating ${onlineIds.length} online hosts every ${HEARTBEAT_MS / 1000} s; Ctrl-C to stop.`,
  );
  const beat = async () => {
    const now = new Date();
    await db.host.updateMany({ where: { id: { in: onlineIds } }, data: { lastSeenAt: now } });
  };
  const timer = setInterval(
    () => void beat().catch((e: Error) => console.error(`heartbeat failed: ${e.message}`)),
    HEARTBEAT_MS,
  );
  const stop = () => {
    clearInterval(timer);
    void db.$disconnect().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: Error) => {
  console.error(`seed-fleet failed: ${error.message}`);
  process.exit(1);
});

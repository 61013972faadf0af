import fs from 'node:fs';
import path from 'node:path';
import { DiskPackageStore, readQemuPackage } from '@binfleet/deb';
import {
  databaseProvider,
  createDb,
  createWakeups,
  createSecretBox,
  loadOrCreateSecretKeyFile,
  migrateDeploy,
  pendingMigrations,
  type Db,
} from '@binfleet/db';
import type { WebConfig } from '../env.ts';
import { AgentGateway } from '../agents/agent-gateway.ts';
import { DialOutCalls } from '../agents/dial-out/dial-out-calls.ts';
import { DialOutChannels } from '../agents/dial-out/dial-out-channels.ts';
import { dialOutTransport } from '../agents/dial-out/dial-out-transport.ts';
import { AgentRelease } from './agent-install/agent-release.ts';
import { TlsPin } from './agent-install/tls-pin.ts';
import { AuditService } from './audit.ts';
import { AuditArchive } from './audit-archive.ts';
import { DeviceCookies } from '../security/device-cookie.ts';
import { HashQueue } from '../security/hash-queue.ts';
import { OutboundPolicy } from '../security/outbound.ts';
import { AuthService } from './auth.ts';
import { BuildRunner } from './builds/build-runner.ts';
import { BuildService } from './builds/build-service.ts';
import { CatalogueService } from './catalogue/catalogue-service.ts';
import { CatalogueSyncTimer } from './catalogue/sync.ts';
import { FleetAttention } from './fleet-attention.ts';
import { FleetView } from './fleet-view.ts';
import { AgentUpgrades } from './hosts/agent-upgrade.ts';
import { HostService } from './hosts/host-service.ts';
import { ReachabilityChecker } from './hosts/reachability.ts';
import { JobRunner } from './job-runner.ts';
import { JobService } from './jobs.ts';
import { LoginLimits } from './login-limits.ts';
import { PackageService } from './packages.ts';
import { PlanService } from './plans.ts';
import { PolicyService } from './policy.ts';
import { SettingsService } from './settings.ts';

export interface ControlPlane {
  readonly config: WebConfig;
  readonly db: Db;
  readonly audit: AuditService;
  readonly auditArchive: AuditArchive;
  readonly auth: AuthService;
  readonly loginLimits: LoginLimits;
  readonly hosts: HostService;
  readonly policies: PolicyService;
  /** Dry runs of jobs and policy drafts. */
  readonly plans: PlanService;
  readonly jobs: JobService;
  readonly fleet: FleetView;
  readonly runner: JobRunner;
  readonly catalogue: CatalogueService;
  readonly catalogueSync: CatalogueSyncTimer;
  /** Health checks of every agent, run with the job runner. */
  readonly reachability: ReachabilityChecker;
  readonly packages: PackageService;
  readonly builds: BuildService;
  readonly buildRunner: BuildRunner;
  readonly settings: SettingsService;
  /** The agent release hosts install (GET /agent/install.sh and its files). */
  readonly agentRelease: AgentRelease;
  /** The certificate hosts pin when the control plane serves HTTPS itself. */
  readonly tlsPin: TlsPin;
  /** Dial-out agents: their calls (AgentCall rows) and the channels they hold open. */
  readonly dialOut: { readonly calls: DialOutCalls; readonly channels: DialOutChannels };
  /** Ends what holds the process open beyond the database (the PostgreSQL LISTEN connection). */
  close(): Promise<void>;
}

/** Wires the services once per process; the tRPC context hands them to procedures. */
export function createControlPlane(config: WebConfig, options: { db?: Db } = {}): ControlPlane {
  const db = options.db ?? createDb(config.databaseUrl);
  const serverKey = loadOrCreateSecretKeyFile(config.secretKeyFile);
  const secrets = createSecretBox(serverKey);
  const audit = new AuditService(db);
  const loginLimits = new LoginLimits(db, audit, config.loginLimits);
  const auth = new AuthService(
    db,
    audit,
    config.sessionTtlMs,
    loginLimits,
    new HashQueue(config.hashQueue.concurrency, config.hashQueue.queueLimit),
    new DeviceCookies(serverKey),
  );
  const hosts = new HostService(db, secrets, audit, config);
  const wakeups = createWakeups(config.databaseUrl);
  const policies = new PolicyService(db, audit, wakeups);
  const jobs = new JobService(db, hosts, audit);
  // Every request out (registries, agents) goes through these rules.
  const outbound = new OutboundPolicy({ allow: config.outboundAllow });
  const calls = new DialOutCalls(db, wakeups, audit);
  const channels = new DialOutChannels(db, wakeups, calls, audit, {
    keepaliveMs: config.channelKeepaliveMs,
    maxPerHost: 2,
  });
  const gateway = new AgentGateway({
    tokenOf: (h) => hosts.agentToken(h),
    timeoutMs: config.runner.callTimeoutMs,
    agentUrlAllow: config.agentUrlAllow,
    outbound,
    dialOut: dialOutTransport(calls),
  });
  const agentRelease = new AgentRelease(config.agentDistDir);
  const upgrades = new AgentUpgrades(db, agentRelease, {
    waitMs: config.runner.upgradeWaitMs,
    pollMs: Math.min(config.runner.pollMs, 1000),
  });
  // Two agent calls per row (the action, then, from agents of contract 1, reading the kernel back)
  // must fit in the lease (an upgrade row renews its lease while it waits for the agent to come back).
  const runner = new JobRunner(db, jobs, hosts, policies, gateway, upgrades, {
    ...config.runner,
    leaseMs: Math.max(config.runner.leaseMs, 2 * config.runner.callTimeoutMs + 5_000),
  });
  // A health check must end within its interval, or a host that drops packets would read stale.
  const healthTimeoutMs = Math.min(config.runner.callTimeoutMs, Math.max(1000, config.health.intervalMs / 2));
  const reachability = new ReachabilityChecker(
    db,
    gateway.withTimeout(healthTimeoutMs),
    config.health,
    (hostId) => channels.connected(hostId),
  );
  const fleet = new FleetView(
    db,
    hosts,
    policies,
    new FleetAttention(db, hosts, agentRelease),
    databaseProvider(config.databaseUrl),
  );
  const catalogue = new CatalogueService(db, secrets, audit, config.catalogueSyncIntervalMs, outbound);
  const catalogueSync = new CatalogueSyncTimer(db, catalogue, { intervalMs: config.catalogueSyncIntervalMs });
  const packages = new PackageService(
    db,
    audit,
    new DiskPackageStore(config.packages.dir, config.packages.maxBytes),
    readQemuPackage,
  );
  const builds = new BuildService(db, hosts, catalogue, audit, packages, gateway);
  const buildRunner = new BuildRunner(db, builds, catalogue, {
    pollMs: Math.max(config.runner.pollMs, 1000),
  });
  const settings = new SettingsService(db, audit, {
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
  });
  const tlsPin = new TlsPin(config.tls?.cert);
  return {
    config,
    db,
    settings,
    agentRelease,
    tlsPin,
    audit,
    auditArchive: new AuditArchive(db, audit, path.join(config.dataDir, 'audit-archive')),
    auth,
    loginLimits,
    hosts,
    policies,
    plans: new PlanService(db, hosts, policies),
    jobs,
    fleet,
    runner,
    catalogue,
    catalogueSync,
    reachability,
    packages,
    builds,
    buildRunner,
    dialOut: { calls, channels },
    close: () => wakeups.close(),
  };
}

/**
 * Startup: private files, pending migrations, the first admin from the environment, the job runner.
 * Everything the server process writes from here on is its owner's alone (umask 077: files 0600,
 * folders 0700), and the data folder is made 0700 also when an older version created it open.
 */
export async function startControlPlane(config: WebConfig): Promise<ControlPlane> {
  process.umask(0o077);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(config.dataDir, 0o700);
  const probe = createDb(config.databaseUrl);
  const pending = await pendingMigrations(probe, config.databaseUrl).finally(() => probe.$disconnect());
  if (pending.length > 0) await migrateDeploy(config.databaseUrl);
  const cp = createControlPlane(config);
  if (config.bootstrapAdmin)
    await cp.auth.bootstrapAdmin(config.bootstrapAdmin.username, config.bootstrapAdmin.password);
  // Every replica reports refused sign-ins; a conditional update keeps each row written once.
  cp.loginLimits.start();
  if (config.runner.enabled) {
    cp.runner.start();
    cp.buildRunner.start();
    cp.catalogueSync.start();
    cp.reachability.start();
  }
  return cp;
}

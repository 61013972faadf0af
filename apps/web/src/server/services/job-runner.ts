import { randomUUID } from 'node:crypto';
import type { Db, JobTarget, Prisma } from '@binfleet/db';
import { claimJobTargets, jsonValue } from '@binfleet/db';
import type { JobParams } from '../../shared/job-kinds.ts';
import { describeDatabaseFailure } from '../database-errors.ts';
import { ControlPlaneError } from '../errors.ts';
import { AgentCallError } from '../agents/agent-errors.ts';
import type { AgentGateway } from '../agents/agent-gateway.ts';
import type { AgentUpgrades } from './hosts/agent-upgrade.ts';
import type { HostService } from './hosts/host-service.ts';
import { runJobAction } from './job-actions.ts';
import { JobRowOutcomes } from './job-row-outcomes.ts';
import type { JobService } from './jobs.ts';
import type { PolicyService, PolicySpec } from './policy.ts';

export interface RunnerConfig {
  readonly concurrency: number;
  readonly pollMs: number;
  /** A row whose runner has not finished it within the lease is taken over by another runner. */
  readonly leaseMs: number;
  readonly maxAttempts: number;
}

export type VerifyDetail = {
  checks?: {
    target: string;
    method: string;
    status: 'pass' | 'fail' | 'skipped';
    output?: string;
    detail: string;
    durationMs: number;
  }[];
};

/**
 * What a round reads of its rows' jobs and hosts: no host facts or entries (kilobytes of JSON a row
 * that Prisma would decode for nothing: the agent's answer carries the entries), but the hash and time
 * of the latest snapshot, which make recording an unchanged kernel one statement.
 */
const CLAIMED_ROW = {
  job: { select: { status: true, params: true, cancelRequestedAt: true } },
  host: {
    select: {
      id: true,
      hostname: true,
      agentUrl: true,
      agentId: true,
      agentTokenSealed: true,
      transport: true,
      groupName: true,
      agentVersion: true,
      entriesHash: true,
      entriesTakenAt: true,
    },
  },
} as const satisfies Prisma.JobTargetInclude;

type ClaimedRow = Prisma.JobTargetGetPayload<{ include: typeof CLAIMED_ROW }>;

/**
 * Executes job rows. Any number of runners (one per web replica) share the work through the
 * database: rows are taken with a conditional update (claimJobTargets) and finished only by the
 * runner that holds it. A runner that dies leaves its rows running until their lease expires; then
 * another runner takes them over, and the agent operations being idempotent, runs them again.
 */
export class JobRunner {
  readonly id = `runner-${randomUUID()}`;
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private rounds: Promise<unknown> = Promise.resolve();
  private slotRoundAsked = false;
  private readonly outcomes: JobRowOutcomes;

  constructor(
    private readonly db: Db,
    private readonly jobs: JobService,
    private readonly hosts: HostService,
    private readonly policies: PolicyService,
    private readonly gateway: AgentGateway,
    private readonly upgrades: AgentUpgrades,
    private readonly config: RunnerConfig,
    private readonly log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {
    this.outcomes = new JobRowOutcomes(db, jobs, this.id);
  }

  start(): void {
    this.stopping = false;
    const loop = async () => {
      if (this.stopping) return;
      try {
        await this.tick();
      } catch (error) {
        this.log({
          msg: 'job runner tick failed',
          error: describeDatabaseFailure(error) ?? (error as Error).message,
        });
      }
      if (!this.stopping) this.timer = setTimeout(loop, this.config.pollMs);
    };
    void loop();
  }

  /** Stops claiming new rows and waits for the ones in progress. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inflight]);
  }

  /**
   * One round: claims due rows up to the free slots and starts them. Returns how many it started.
   * Rounds never overlap (a round asked for during another runs after it), and a row finishing asks
   * for one, so a free slot is filled at once rather than at the next poll.
   */
  tick(now?: Date): Promise<number> {
    const round = this.rounds.then(() => this.claimAndStart(now ?? new Date()));
    this.rounds = round.catch(() => 0);
    return round;
  }

  private async claimAndStart(now: Date): Promise<number> {
    const free = this.config.concurrency - this.inflight.size;
    if (free <= 0 || this.stopping) return 0;
    const candidates = await this.db.jobTarget.findMany({
      where: {
        OR: [
          { status: 'queued', runAfter: { lte: now } },
          { status: 'running', leaseExpiresAt: { lt: now } },
        ],
      },
      orderBy: { runAfter: 'asc' },
      take: free,
      select: { id: true },
    });
    if (candidates.length === 0) return 0;
    // One UPDATE ... RETURNING for the round; rows another runner took meanwhile are not returned.
    const claimed = await claimJobTargets(this.db, {
      jobTargetIds: candidates.map((c) => c.id),
      runnerId: this.id,
      leaseMs: this.config.leaseMs,
      now,
    });
    if (claimed.length === 0) return 0;
    const [rows] = await Promise.all([
      this.db.jobTarget.findMany({ where: { id: { in: claimed } }, include: CLAIMED_ROW }),
      // A retried row keeps the time it first started.
      this.db.jobTarget.updateMany({
        where: { id: { in: claimed }, startedAt: null },
        data: { startedAt: now },
      }),
    ]);
    // Policies are read (all at once) only for rows whose job applies them.
    const policyOf = rows.some(
      (r) => (r.job.params as unknown as JobParams as { usePolicy?: boolean }).usePolicy,
    )
      ? await this.policies.resolver()
      : () => null;
    for (const row of rows) {
      this.outcomes.started(row);
      const run = this.execute(row, policyOf(row.host.groupName), row.startedAt ?? now)
        // Recording the outcome failed too (the database is down or full): the row stays running
        // under this lease, and is run again once the lease expires and the database is back.
        .catch((error: unknown) =>
          this.log({
            msg: 'job row outcome not recorded; it runs again after its lease',
            row: row.id,
            error: describeDatabaseFailure(error) ?? (error as Error).message,
          }),
        )
        .finally(() => {
          this.inflight.delete(run);
          this.fillFreeSlot();
        });
      this.inflight.add(run);
    }
    return rows.length;
  }

  /** A slot came free: look for due rows now (one round at a time), unless one is already asked for. */
  private fillFreeSlot(): void {
    if (this.stopping || this.slotRoundAsked) return;
    this.slotRoundAsked = true;
    void this.tick()
      .catch((error: unknown) =>
        this.log({
          msg: 'job runner tick failed',
          error: describeDatabaseFailure(error) ?? (error as Error).message,
        }),
      )
      .finally(() => (this.slotRoundAsked = false));
  }

  /** Runs until no row is due or in progress: for tests and for draining before shutdown. */
  async drain(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      await this.tick();
      if (this.inflight.size === 0) {
        const open = await this.db.jobTarget.count({
          where: { status: { in: ['queued', 'running'] }, runAfter: { lte: new Date() } },
        });
        if (open === 0) return;
      }
      await Promise.race([...this.inflight, new Promise((r) => setTimeout(r, this.config.pollMs))]);
    }
    throw new Error('JobRunner.drain timed out');
  }

  private async execute(row: ClaimedRow, policy: PolicySpec | null, started: Date): Promise<void> {
    try {
      if (row.job.cancelRequestedAt) {
        await this.outcomes.record(row, {
          status: 'cancelled',
          error: 'Cancelled before it ran on this host.',
        });
        return;
      }
      const params = row.job.params as unknown as JobParams;
      const agent = this.gateway.connect(row.host);
      // An upgrade row waits for the agent to come back: it keeps its lease meanwhile.
      const renewLease = () =>
        this.db.jobTarget.updateMany({
          where: { id: row.id, claimedBy: this.id, status: 'running' },
          data: { leaseExpiresAt: new Date(Date.now() + this.config.leaseMs) },
        });
      const outcome = await runJobAction(agent, params, policy, () =>
        this.upgrades.run(row.host, agent, renewLease),
      );
      // The host's latest snapshot as the round read it: the same entries again are one update.
      await this.hosts.snapshots.record(row.hostId, outcome.entries, new Date(), row.host);
      if (params.kind === 'verify') await this.recordVerify(row, outcome.detail as VerifyDetail);
      await this.outcomes.record(row, {
        status: outcome.ok ? 'succeeded' : 'failed',
        result: jsonValue({ entries: outcome.entries, detail: outcome.detail }),
        error: outcome.ok ? null : verifyFailure(outcome.detail as VerifyDetail),
      });
      this.log({
        msg: 'job row done',
        job: row.jobId,
        host: row.host.hostname,
        status: outcome.ok ? 'succeeded' : 'failed',
        ms: Date.now() - started.getTime(),
      });
    } catch (error) {
      const message =
        error instanceof ControlPlaneError
          ? error.message
          : (describeDatabaseFailure(error) ?? `Unexpected error: ${(error as Error).message}`);
      const retry =
        error instanceof AgentCallError && error.transient && row.attempts < this.config.maxAttempts;
      if (retry) {
        // Back off 1 s, 2 s, 4 s...: a restarting agent gets time to come back.
        await this.outcomes.record(row, {
          status: 'queued',
          error: message,
          runAfter: new Date(Date.now() + 1000 * 2 ** (row.attempts - 1)),
        });
      } else {
        const attempts = row.attempts > 1 ? ` (after ${row.attempts} attempts)` : '';
        await this.outcomes.record(row, { status: 'failed', error: message + attempts });
      }
      this.log({
        msg: retry ? 'job row will retry' : 'job row failed',
        job: row.jobId,
        host: row.host.hostname,
        error: message,
      });
    }
  }

  private async recordVerify(row: JobTarget, report: VerifyDetail): Promise<void> {
    await this.hosts.selfTests.record(
      row.hostId,
      row.jobId,
      (report.checks ?? []).map((c) => ({
        target: c.target,
        method: c.method,
        status: c.status === 'pass' ? 'passed' : c.status === 'fail' ? 'failed' : 'skipped',
        output: (c.output ?? c.detail).slice(0, 2000),
        durationMs: Math.round(c.durationMs),
      })),
    );
  }
}

/**
 * Why a verify row failed: its failed checks, or when none failed but none passed either (every check
 * skipped, e.g. dockerd down and no probe binaries), the reasons they were skipped, which say what to do.
 */
export function verifyFailure(report: VerifyDetail): string {
  const checks = report.checks ?? [];
  const list = (status: 'fail' | 'skipped') => {
    const lines = checks
      .filter((c) => c.status === status)
      .map((c) => `${c.target} (${c.method}): ${c.detail}`);
    return [...new Set(lines)].join('; ');
  };
  const failed = list('fail');
  if (failed) return `Verification failed: ${failed}`;
  const skipped = list('skipped');
  return skipped
    ? `Verification failed: no check passed, every check was skipped: ${skipped}`
    : 'Verification failed: no check ran (no qemu entry is registered to check).';
}

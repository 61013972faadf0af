import { randomUUID } from 'node:crypto';
import type { Db, JobTarget, Prisma } from '@binfleet/db';
import { claimJobTarget } from '@binfleet/db';
import type { JobParams } from '../../shared/job-kinds.ts';
import { describeDatabaseFailure } from '../database-errors.ts';
import { ControlPlaneError } from '../errors.ts';
import { AgentCallError } from '../agents/agent-errors.ts';
import type { AgentGateway } from '../agents/agent-gateway.ts';
import type { AgentUpgrades } from './hosts/agent-upgrade.ts';
import type { HostService } from './hosts/host-service.ts';
import { runJobAction } from './job-actions.ts';
import type { JobService } from './jobs.ts';
import type { PolicyService } from './policy.ts';

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
 * Executes job rows. Any number of runners (one per web replica) share the work through the
 * database: a row is taken with a conditional update (claimJobTarget) and finished only by the
 * runner that holds it. A runner that dies leaves its rows running until their lease expires; then
 * another runner takes them over, and the agent operations being idempotent, runs them again.
 */
export class JobRunner {
  readonly id = `runner-${randomUUID()}`;
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    private readonly db: Db,
    private readonly jobs: JobService,
    private readonly hosts: HostService,
    private readonly policies: PolicyService,
    private readonly gateway: AgentGateway,
    private readonly upgrades: AgentUpgrades,
    private readonly config: RunnerConfig,
    private readonly log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {}

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

  /** One round: claims due rows up to the free slots and starts them. Returns how many it started. */
  async tick(now = new Date()): Promise<number> {
    const free = this.config.concurrency - this.inflight.size;
    if (free <= 0) return 0;
    const candidates = await this.db.jobTarget.findMany({
      where: {
        OR: [
          { status: 'queued', runAfter: { lte: now } },
          { status: 'running', leaseExpiresAt: { lt: now } },
        ],
      },
      orderBy: { runAfter: 'asc' },
      take: free * 2,
      select: { id: true },
    });
    let started = 0;
    for (const { id } of candidates) {
      if (started >= free || this.stopping) break;
      if (
        !(await claimJobTarget(this.db, { jobTargetId: id, runnerId: this.id, leaseMs: this.config.leaseMs }))
      )
        continue;
      started++;
      const run = this.execute(id)
        // Recording the outcome failed too (the database is down or full): the row stays running
        // under this lease, and is run again once the lease expires and the database is back.
        .catch((error: unknown) =>
          this.log({
            msg: 'job row outcome not recorded; it runs again after its lease',
            row: id,
            error: describeDatabaseFailure(error) ?? (error as Error).message,
          }),
        )
        .finally(() => this.inflight.delete(run));
      this.inflight.add(run);
    }
    return started;
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

  private async execute(rowId: string): Promise<void> {
    const row = await this.db.jobTarget.findUniqueOrThrow({
      where: { id: rowId },
      include: { job: true, host: true },
    });
    const started = new Date();
    try {
      if (row.job.cancelRequestedAt) {
        await this.finish(row, { status: 'cancelled', error: 'Cancelled before it ran on this host.' });
        return;
      }
      await this.db.jobTarget.updateMany({
        where: { id: row.id, claimedBy: this.id },
        data: { startedAt: row.startedAt ?? started },
      });
      const params = row.job.params as unknown as JobParams;
      const policy = await this.policies.forGroup(row.host.groupName);
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
      await this.hosts.snapshots.record(row.hostId, outcome.entries);
      if (params.kind === 'verify') await this.recordVerify(row, outcome.detail as VerifyDetail);
      await this.finish(row, {
        status: outcome.ok ? 'succeeded' : 'failed',
        result: { entries: outcome.entries, detail: outcome.detail } as unknown as Prisma.InputJsonValue,
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
        await this.finish(row, {
          status: 'queued',
          error: message,
          runAfter: new Date(Date.now() + 1000 * 2 ** (row.attempts - 1)),
        });
      } else {
        const attempts = row.attempts > 1 ? ` (after ${row.attempts} attempts)` : '';
        await this.finish(row, { status: 'failed', error: message + attempts });
      }
      this.log({
        msg: retry ? 'job row will retry' : 'job row failed',
        job: row.jobId,
        host: row.host.hostname,
        error: message,
      });
    }
  }

  private async finish(
    row: JobTarget,
    change: {
      status: JobTarget['status'];
      error?: string | null;
      result?: Prisma.InputJsonValue;
      runAfter?: Date;
    },
  ): Promise<void> {
    const final = change.status !== 'queued';
    // Only the runner holding the row may finish it: one that lost its lease must not overwrite.
    const { count } = await this.db.jobTarget.updateMany({
      where: { id: row.id, claimedBy: this.id, status: 'running' },
      data: {
        status: change.status,
        ...(change.error !== undefined ? { error: change.error } : {}),
        ...(change.result !== undefined ? { result: change.result } : {}),
        ...(change.runAfter ? { runAfter: change.runAfter } : {}),
        ...(final
          ? { finishedAt: new Date(), leaseExpiresAt: null }
          : { claimedBy: null, leaseExpiresAt: null }),
      },
    });
    if (count === 1) await this.jobs.refreshStatus(row.jobId);
  }

  private async recordVerify(row: JobTarget, report: VerifyDetail): Promise<void> {
    const checks = report.checks ?? [];
    if (checks.length === 0) return;
    await this.db.verifyResult.createMany({
      data: checks.map((c) => ({
        hostId: row.hostId,
        jobId: row.jobId,
        target: c.target,
        method: c.method,
        status: c.status === 'pass' ? 'passed' : c.status === 'fail' ? 'failed' : 'skipped',
        output: (c.output ?? c.detail).slice(0, 2000),
        durationMs: Math.round(c.durationMs),
      })),
    });
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

import type { Db, Job, Prisma, RunStatus } from '@binfleet/db';
import { describeJob, jobParams, type JobParams } from '../../shared/job-kinds.ts';
import { FINISHED_STATUSES, isFinished } from '../../shared/run-status.ts';
import { ControlPlaneError } from '../errors.ts';
import { SYSTEM, type Actor, type AuditService } from './audit.ts';
import type { HostFilter, HostService } from './hosts/host-service.ts';

export type HostSelection =
  { readonly hostIds: readonly string[] } | { readonly filter: HostFilter } | { readonly all: true };

export class JobService {
  constructor(
    private readonly db: Db,
    private readonly hosts: HostService,
    private readonly audit: AuditService,
  ) {}

  /** A job and one row per selected host, in one transaction, so a runner never sees half a job. */
  async create(actor: Actor, rawParams: unknown, selection: HostSelection) {
    const parsed = jobParams.safeParse(rawParams);
    if (!parsed.success) {
      throw new ControlPlaneError(
        'INVALID_INPUT',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; '),
      );
    }
    const params = parsed.data;
    const hostIds =
      'hostIds' in selection
        ? [...new Set(selection.hostIds)]
        : await this.hosts.ids('filter' in selection ? selection.filter : {});
    if (hostIds.length === 0)
      throw new ControlPlaneError('INVALID_INPUT', 'No host is selected: pick at least one host.');
    const known = await this.db.host.findMany({
      where: { id: { in: hostIds } },
      select: { id: true, hostname: true },
    });
    if (known.length !== hostIds.length)
      throw new ControlPlaneError('NOT_FOUND', 'Some selected hosts no longer exist: reload the fleet page.');
    const job = await this.db.$transaction(async (tx) => {
      const created = await tx.job.create({
        data: {
          kind: params.kind,
          params: params as unknown as Prisma.InputJsonValue,
          createdById: actor.id,
        },
      });
      await tx.jobTarget.createMany({ data: hostIds.map((hostId) => ({ jobId: created.id, hostId })) });
      return created;
    });
    await this.audit.record({
      actor,
      action: `job.${params.kind}`,
      targets: known.map((h) => h.hostname),
      params: { jobId: job.id, ...params },
      outcome: 'success',
      detail: describeJob(params),
    });
    return { id: job.id, hosts: hostIds.length };
  }

  async cancel(actor: Actor, jobId: string) {
    const job = await this.db.job.findUnique({ where: { id: jobId } });
    if (!job) throw new ControlPlaneError('NOT_FOUND', 'No such job.');
    if (isFinished(job.status)) throw new ControlPlaneError('CONFLICT', `The job is already ${job.status}.`);
    const now = new Date();
    await this.db.job.update({ where: { id: jobId }, data: { cancelRequestedAt: now } });
    // Rows not started yet are cancelled now; running ones finish their current call.
    await this.db.jobTarget.updateMany({
      where: { jobId, status: 'queued' },
      data: { status: 'cancelled', finishedAt: now, error: `Cancelled by ${actor.name}` },
    });
    await this.audit.record({ actor, action: 'job.cancel', targets: [jobId], outcome: 'success' });
    await this.refreshStatus(jobId);
  }

  /** Recomputes a job's status from its rows (called by runners after each row and by cancel). */
  async refreshStatus(jobId: string): Promise<RunStatus> {
    const rows = await this.db.jobTarget.groupBy({
      by: ['status'],
      where: { jobId },
      _count: { _all: true },
    });
    const count = (s: RunStatus) => rows.find((r) => r.status === s)?._count._all ?? 0;
    const open = count('queued') + count('running');
    const job = await this.db.job.findUniqueOrThrow({ where: { id: jobId } });
    const status: RunStatus =
      open > 0
        ? count('running') > 0 || count('succeeded') + count('failed') > 0
          ? 'running'
          : 'queued'
        : count('failed') > 0
          ? 'failed'
          : count('succeeded') > 0
            ? 'succeeded'
            : 'cancelled';
    if (status === job.status) return status;
    if (!isFinished(status)) {
      await this.db.job.update({
        where: { id: jobId },
        data: { status, ...(status === 'running' && !job.startedAt ? { startedAt: new Date() } : {}) },
      });
      return status;
    }
    await this.finishJob(job, status, {
      total: rows.reduce((sum, r) => sum + r._count._all, 0),
      succeeded: count('succeeded'),
      failed: count('failed'),
      cancelled: count('cancelled'),
    });
    return status;
  }

  /**
   * The job's last row is done: its final status and its audit event, together and once. Every
   * runner (one per replica) that finishes a row calls refreshStatus, and two of them may both see
   * the job complete: only the one whose conditional update still finds it open records the outcome.
   */
  private async finishJob(
    job: Job,
    status: RunStatus,
    counts: { total: number; succeeded: number; failed: number; cancelled: number },
  ): Promise<void> {
    const [targets, failed] = await Promise.all([
      this.db.jobTarget.findMany({
        where: { jobId: job.id },
        select: { host: { select: { hostname: true } } },
      }),
      this.db.jobTarget.findMany({
        where: { jobId: job.id, status: 'failed' },
        select: { host: { select: { hostname: true } } },
        orderBy: { host: { hostname: 'asc' } },
        take: 5,
      }),
    ]);
    const finishedAt = new Date();
    const params = job.params as unknown as JobParams;
    const tally = [
      `${counts.succeeded} of ${counts.total} succeeded`,
      ...(counts.failed ? [`${counts.failed} failed`] : []),
      ...(counts.cancelled ? [`${counts.cancelled} cancelled`] : []),
    ].join(', ');
    const failedNames = failed.map((f) => f.host.hostname).join(', ');
    const more = counts.failed > failed.length ? ` and ${counts.failed - failed.length} more` : '';
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.job.updateMany({
        where: { id: job.id, status: { notIn: [...FINISHED_STATUSES] } },
        data: { status, finishedAt },
      });
      if (count !== 1) return;
      await this.audit.record(
        {
          actor: SYSTEM,
          action: 'job.finished',
          targets: targets.map((t) => t.host.hostname),
          params: {
            jobId: job.id,
            kind: params.kind,
            status,
            counts,
            ...(job.startedAt ? { durationMs: finishedAt.getTime() - job.startedAt.getTime() } : {}),
          },
          outcome: status === 'failed' ? 'failure' : 'success',
          detail: `${describeJob(params)}: ${status}, ${tally}${failedNames ? ` (failed: ${failedNames}${more})` : ''}.`,
        },
        tx,
      );
    });
  }

  async list(filter: { status?: RunStatus | undefined; cursor?: string | undefined; limit: number }) {
    const rows = await this.db.job.findMany({
      where: filter.status ? { status: filter.status } : {},
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: filter.limit + 1,
      ...(filter.cursor ? { cursor: { id: filter.cursor }, skip: 1 } : {}),
      include: { createdBy: { select: { username: true } } },
    });
    const more = rows.length > filter.limit;
    const page = more ? rows.slice(0, filter.limit) : rows;
    const counts = await this.db.jobTarget.groupBy({
      by: ['jobId', 'status'],
      where: { jobId: { in: page.map((j) => j.id) } },
      _count: { _all: true },
    });
    return {
      items: page.map((j) => ({
        id: j.id,
        kind: j.kind,
        summary: describeJob(j.params as unknown as JobParams),
        status: j.status,
        createdAt: j.createdAt,
        finishedAt: j.finishedAt,
        createdBy: j.createdBy?.username ?? 'system',
        counts: countsOf(counts.filter((c) => c.jobId === j.id)),
      })),
      nextCursor: more ? page.at(-1)!.id : null,
    };
  }

  async get(jobId: string) {
    const job = await this.db.job.findUnique({
      where: { id: jobId },
      include: {
        createdBy: { select: { username: true } },
        targets: { include: { host: { select: { id: true, hostname: true } } }, orderBy: { id: 'asc' } },
      },
    });
    if (!job) throw new ControlPlaneError('NOT_FOUND', 'No such job.');
    return {
      id: job.id,
      kind: job.kind,
      params: job.params as unknown as JobParams,
      summary: describeJob(job.params as unknown as JobParams),
      status: job.status,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      cancelRequestedAt: job.cancelRequestedAt,
      createdBy: job.createdBy?.username ?? 'system',
      counts: countsOf(job.targets.map((t) => ({ status: t.status, _count: { _all: 1 } }))),
      targets: job.targets.map((t) => ({
        id: t.id,
        hostId: t.host.id,
        hostname: t.host.hostname,
        status: t.status,
        attempts: t.attempts,
        startedAt: t.startedAt,
        finishedAt: t.finishedAt,
        error: t.error,
        result: t.result,
      })),
    };
  }

  async hostHadAutoHealSince(hostId: string, since: Date): Promise<boolean> {
    const n = await this.db.jobTarget.count({
      where: { hostId, job: { createdById: null, createdAt: { gte: since } } },
    });
    return n > 0;
  }

  async hostHasOpenJob(hostId: string): Promise<boolean> {
    return (await this.db.jobTarget.count({ where: { hostId, status: { in: ['queued', 'running'] } } })) > 0;
  }
}

function countsOf(rows: readonly { status: RunStatus; _count: { _all: number } }[]) {
  const counts: Record<RunStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const r of rows) counts[r.status] += r._count._all;
  return { ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
}

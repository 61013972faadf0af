import type { Db } from '@binfleet/db';
import { SYSTEM, type Actor, type AuditService } from '../audit.ts';

/** The statuses a build ends in, and the audit action each writes. */
export type BuildEnd = 'succeeded' | 'failed' | 'cancelled';

export interface BuildOutcome {
  readonly status: BuildEnd;
  readonly error: string | null;
  readonly finishedAt?: Date;
  /** The statuses it may end from (default: queued or running). */
  readonly from?: readonly ('queued' | 'running')[];
  /** Who ended it, when a user did (a cancel); otherwise the system. */
  readonly actor?: Actor;
}

type Client = Pick<Db, 'build' | 'auditEvent'>;

/**
 * The one way a build turns final, whichever path ends it (the builder's report, a failure to start
 * or to follow it, a cancel): a conditional update from an open status and, written with it, one
 * audit row (`build.succeeded`, `build.failed` or `build.cancelled`, with the build id, repository
 * and pushed tags). Of two replicas mirroring one report, or a cancel racing it, only the update that
 * moved the row writes the row.
 */
export class BuildOutcomes {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
  ) {}

  /** Ends the build; whether this call did (false: it had ended already, or not from `from`). */
  finish(id: string, outcome: BuildOutcome, tx?: Client): Promise<boolean> {
    return tx ? this.finishIn(tx, id, outcome) : this.db.$transaction((t) => this.finishIn(t, id, outcome));
  }

  private async finishIn(tx: Client, id: string, outcome: BuildOutcome): Promise<boolean> {
    const finishedAt = outcome.finishedAt ?? new Date();
    const { count } = await tx.build.updateMany({
      where: { id, status: { in: [...(outcome.from ?? ['queued', 'running'])] } },
      data: { status: outcome.status, error: outcome.error, finishedAt },
    });
    if (count !== 1) return false;
    const build = await tx.build.findUniqueOrThrow({
      where: { id },
      select: {
        startedAt: true,
        pushedTags: true,
        builderHost: { select: { hostname: true } },
        repository: { select: { name: true, registry: { select: { url: true } } } },
      },
    });
    const repository = build.repository
      ? `${new URL(build.repository.registry.url).host}/${build.repository.name}`
      : null;
    const tags = ((build.pushedTags as { tag: string }[] | null) ?? []).map((t) => t.tag);
    await this.audit.record(
      {
        actor: outcome.actor ?? SYSTEM,
        action: `build.${outcome.status}`,
        targets: [build.builderHost?.hostname, repository].filter((t): t is string => !!t),
        params: {
          buildId: id,
          repository,
          tags,
          ...(build.startedAt ? { durationMs: finishedAt.getTime() - build.startedAt.getTime() } : {}),
        },
        outcome: outcome.status === 'failed' ? 'failure' : 'success',
        ...(outcome.error ? { detail: outcome.error } : {}),
      },
      tx,
    );
    return true;
  }
}

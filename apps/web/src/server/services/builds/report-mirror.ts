import type { BuildReport } from '@binfleet/agent-contract';
import type { Db, Prisma } from '@binfleet/db';
import { isFinished } from '../../../shared/run-status.ts';
import type { BuildEnd, BuildOutcomes } from './build-outcome.ts';

/**
 * Writes what a builder reports into the build's row and step rows. Idempotent, so two replicas
 * following the same build write the same thing; it skips writing when nothing changed. A final
 * report ends the build through BuildOutcomes, in the same transaction: one audit row, whoever wins.
 */
export class BuildReportMirror {
  /** What was last written per build. */
  private readonly mirrored = new Map<string, string>();

  constructor(
    private readonly db: Db,
    private readonly outcomes: BuildOutcomes,
  ) {}

  /** `offset`: the position of the builder's first step (after the control plane's own, if any). */
  async write(id: string, report: BuildReport, offset: number): Promise<void> {
    const key = JSON.stringify(report);
    if (this.mirrored.get(id) === key) return;
    const finished = isFinished(report.status);
    await this.db.$transaction(async (tx) => {
      await tx.build.update({
        where: { id },
        data: {
          ...(report.package
            ? {
                packageName: report.package.name,
                packageVersion: report.package.version,
                packageArch: report.package.architecture,
                packageSha256: report.package.sha256,
                qemuVersion: report.package.qemuVersion,
              }
            : {}),
          ...(report.packages?.length
            ? {
                packageFacts: report.packages.map((p) => ({
                  name: p.name,
                  version: p.version,
                  architecture: p.architecture,
                  sha256: p.sha256,
                  qemuVersion: p.qemuVersion,
                })),
              }
            : {}),
          checks: report.checks as Prisma.InputJsonValue,
          pushedTags: report.tags
            .filter((t) => t.digest)
            .map((t) => ({ tag: t.tag, reference: t.reference, digest: t.digest!, platform: t.platform })),
        },
      });
      for (const [index, step] of report.steps.entries()) {
        const position = index + offset;
        const data = {
          name: step.name,
          status: step.status,
          startedAt: step.startedAt ? new Date(step.startedAt) : null,
          finishedAt: step.finishedAt ? new Date(step.finishedAt) : null,
          durationMs: step.durationMs ?? null,
          log: step.log,
        };
        await tx.buildStep.upsert({
          where: { buildId_position: { buildId: id, position } },
          create: { buildId: id, position, ...data },
          update: data,
        });
      }
      if (finished)
        await this.outcomes.finish(
          id,
          {
            status: report.status as BuildEnd,
            error: report.error ?? null,
            finishedAt: report.finishedAt ? new Date(report.finishedAt) : new Date(),
            from: ['running'],
          },
          tx,
        );
    });
    if (finished) this.mirrored.delete(id);
    else this.mirrored.set(id, key);
  }
}

import type { Db, Host, Prisma, RunStatus } from '@binfleet/db';
import type { Actor } from '../audit.ts';
import type { BuildOutcomes } from './build-outcome.ts';
import type { BuildService } from './build-service.ts';

/** The step the control plane adds in front of the builder's when it sends an uploaded package. */
const SEND_PACKAGE_STEP = 'send package';

/** A `send package` step running for longer than this is taken as abandoned. */
const SEND_STALE_MS = 60 * 60_000;

/** The build's `send package` step (position 0) while it runs. */
function runningSendStep(db: Db, buildId: string) {
  return db.buildStep.findFirst({
    where: { buildId, position: 0, name: SEND_PACKAGE_STEP, status: 'running' },
    select: { startedAt: true },
  });
}

/**
 * Cancels a build still sending its package, step and build, and says whether it was one: the
 * builder knows nothing of it yet, and the runner stops after sending.
 */
export async function cancelWhileSending(
  db: Db,
  outcomes: BuildOutcomes,
  buildId: string,
  actor: Actor,
): Promise<boolean> {
  if (!(await runningSendStep(db, buildId))) return false;
  await db.buildStep.updateMany({
    where: { buildId, position: 0, status: 'running' },
    data: { status: 'cancelled', finishedAt: new Date() },
  });
  await outcomes.finish(buildId, {
    status: 'cancelled',
    error: 'Cancelled while its package was sent.',
    from: ['running'],
    actor,
  });
  return true;
}

/**
 * The `send package` step (position 0, before the builder's own): the uploaded packages go to the
 * builder's store one after the other, their progress in the step's log.
 */
export class PackageSendStep {
  constructor(
    private readonly db: Db,
    private readonly builds: BuildService,
    private readonly log: (line: Record<string, unknown>) => void,
  ) {}

  /** Sends the packages; resolves with what went wrong, if anything. */
  async run(buildId: string, host: Host, sha256s: readonly string[]): Promise<string | undefined> {
    const started = new Date();
    let log = '';
    const write = (data: Partial<Prisma.BuildStepUncheckedCreateInput>) =>
      this.db.buildStep.upsert({
        where: { buildId_position: { buildId, position: 0 } },
        create: { buildId, position: 0, name: SEND_PACKAGE_STEP, status: 'running', startedAt: started, log },
        update: { log, ...data },
      });
    const line = (text: string) => (log += `${text}\n`);
    // Running again when a busy builder sent the build back to the queue.
    await write({ status: 'running', startedAt: started, finishedAt: null, durationMs: null });
    let pending: Promise<unknown> = Promise.resolve();
    const finish = async (status: RunStatus) => {
      await pending;
      const finishedAt = new Date();
      // A step cancelled meanwhile stays cancelled.
      await this.db.buildStep.updateMany({
        where: { buildId, position: 0, status: 'running' },
        data: { log, status, finishedAt, durationMs: finishedAt.getTime() - started.getTime() },
      });
    };
    try {
      for (const sha256 of sha256s) {
        line(`sending package ${sha256} to ${host.hostname}`);
        const sent = Date.now();
        let reported = 0;
        const outcome = await this.builds.sendPackage(host, sha256, (bytes, size) => {
          // A line per quarter, written as it comes: the build page shows the upload moving.
          const quarter = Math.floor((4 * bytes) / size);
          if (quarter <= reported || quarter === 0) return;
          reported = quarter;
          line(`${Math.round((100 * bytes) / size)}% (${mib(bytes)} of ${mib(size)})`);
          pending = pending.then(() => write({})).catch(() => undefined);
        });
        line(
          outcome === 'present'
            ? `${host.hostname} has this package already: nothing to send`
            : `sent in ${((Date.now() - sent) / 1000).toFixed(1)} s; the builder checked its sha256`,
        );
        pending = pending.then(() => write({})).catch(() => undefined);
      }
      await finish('succeeded');
      return undefined;
    } catch (error) {
      line(`failed: ${(error as Error).message}`);
      await finish('failed');
      this.log({ msg: 'sending a package failed', buildId, error: (error as Error).message });
      return (error as Error).message;
    }
  }

  /**
   * Whether the build's package is still on its way (sent by this or another replica): the builder
   * knows nothing of the build yet. A send that stopped with its replica fails the build after a while.
   */
  async inFlight(buildId: string): Promise<boolean> {
    const sending = await runningSendStep(this.db, buildId);
    if (!sending) return false;
    if (Date.now() - (sending.startedAt?.getTime() ?? 0) > SEND_STALE_MS) {
      await this.builds.outcomes.finish(buildId, {
        status: 'failed',
        error: 'Sending its package stopped (the web replica sending it went away): re-run it.',
        from: ['running'],
      });
    }
    return true;
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

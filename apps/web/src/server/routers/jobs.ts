import { z } from 'zod';
import { tracked } from '@trpc/server';
import { ADMIN_JOB_KINDS, jobParams } from '../../shared/job-kinds.ts';
import { isFinished } from '../../shared/run-status.ts';
import { actorOf } from '../services/auth.ts';
import { adminProcedure, operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import { hostFilter } from './fleet.ts';
import { runPage } from './inputs.ts';

const selection = z.union([
  z.strictObject({ hostIds: z.array(z.string().min(1).max(64)).min(1).max(5000) }),
  z.strictObject({ filter: hostFilter }),
  z.strictObject({ all: z.literal(true) }),
]);

const operatorJobParams = jobParams.refine((p) => !ADMIN_JOB_KINDS.includes(p.kind), {
  message: 'Only admins upgrade agents: use jobs.upgradeAgent.',
});

export const jobsRouter = router({
  create: operatorProcedure
    .input(z.strictObject({ params: operatorJobParams, selection }))
    .mutation(({ ctx, input }) => ctx.cp.jobs.create(actorOf(ctx.user), input.params, input.selection)),
  /** The upgrade agent job: each selected host installs the agent release this control plane serves. */
  upgradeAgent: adminProcedure
    .input(z.strictObject({ selection }))
    .mutation(({ ctx, input }) =>
      ctx.cp.jobs.create(actorOf(ctx.user), { kind: 'upgrade-agent' }, input.selection),
    ),
  cancel: operatorProcedure
    .input(z.strictObject({ id: z.string().max(64) }))
    .mutation(({ ctx, input }) => ctx.cp.jobs.cancel(actorOf(ctx.user), input.id)),
  list: viewerProcedure.input(runPage).query(({ ctx, input }) => ctx.cp.jobs.list(input)),
  get: viewerProcedure
    .input(z.strictObject({ id: z.string().max(64) }))
    .query(({ ctx, input }) => ctx.cp.jobs.get(input.id)),
  /**
   * Live progress over SSE. It reads the database, not this process's memory, so it is right
   * whichever replica runs the job; it ends when the job is finished.
   */
  watch: viewerProcedure.input(z.strictObject({ id: z.string().max(64) })).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    let last = '';
    while (!signal?.aborted) {
      const job = await ctx.cp.jobs.get(input.id);
      const key = JSON.stringify([job.status, job.targets.map((t) => [t.status, t.attempts, t.error])]);
      if (key !== last) {
        last = key;
        yield tracked(key.length + ':' + Date.now(), job);
      }
      if (isFinished(job.status)) return;
      await new Promise((r) => setTimeout(r, 400));
    }
  }),
});

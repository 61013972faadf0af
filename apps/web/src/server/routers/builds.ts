import { builderPath } from '@binfleet/agent-contract';
import { TARGET_IDS } from '@binfleet/arch-table';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { isFinished } from '../../shared/run-status.ts';
import { actorOf } from '../services/auth.ts';
import { adminProcedure, router, viewerProcedure } from '../trpc.ts';
import { recordId, runPage } from './inputs.ts';

const id = recordId;
export const buildsRouter = router({
  start: adminProcedure
    .input(
      z.strictObject({
        hostId: id,
        repositoryId: id,
        // One of the three: a file on the builder, a package uploaded through POST /api/packages, or
        // several of either, one per host architecture (one multi-platform build).
        packagePath: builderPath('packagePath').optional(),
        packageId: id.optional(),
        packages: z
          .array(
            z.strictObject({ path: builderPath('packages[].path').optional(), packageId: id.optional() }),
          )
          .min(1)
          .max(16)
          .optional(),
        targets: z.array(z.enum(TARGET_IDS)).max(TARGET_IDS.length).optional(),
        testImage: z
          .string()
          .regex(/^[A-Za-z0-9._/:@-]{1,255}$/, 'Give an image reference such as arm64v8/busybox.')
          .optional(),
        busybox: builderPath('busybox').optional(),
        busyboxes: z.array(builderPath('busyboxes[]')).max(16).optional(),
        skipChecks: z.boolean().optional(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.cp.builds.start(actorOf(ctx.user), input)),
  rerun: adminProcedure
    .input(z.strictObject({ id }))
    .mutation(({ ctx, input }) => ctx.cp.builds.rerun(actorOf(ctx.user), input.id)),
  cancel: adminProcedure
    .input(z.strictObject({ id }))
    .mutation(({ ctx, input }) => ctx.cp.builds.cancel(actorOf(ctx.user), input.id)),
  list: viewerProcedure.input(runPage).query(({ ctx, input }) => ctx.cp.builds.list(input)),
  get: viewerProcedure.input(z.strictObject({ id })).query(({ ctx, input }) => ctx.cp.builds.get(input.id)),
  builders: viewerProcedure.query(({ ctx }) => ctx.cp.builds.builders()),
  packages: viewerProcedure.query(({ ctx }) => ctx.cp.packages.list()),
  deletePackage: adminProcedure
    .input(z.strictObject({ id }))
    .mutation(({ ctx, input }) => ctx.cp.packages.delete(actorOf(ctx.user), input.id)),
  /** Live progress and log over SSE, read from the database (right whichever replica follows the build). */
  watch: viewerProcedure.input(z.strictObject({ id })).subscription(async function* ({ ctx, input, signal }) {
    let last = '';
    while (!signal?.aborted) {
      const build = await ctx.cp.builds.get(input.id);
      const key = JSON.stringify([build.status, build.steps.map((s) => [s.status, s.log.length])]);
      if (key !== last) {
        last = key;
        yield tracked(`${key.length}:${Date.now()}`, build);
      }
      if (isFinished(build.status)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }),
});

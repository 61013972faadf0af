import { z } from 'zod';
import { actorOf } from '../services/auth.ts';
import { adminProcedure, operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import { recordId } from './inputs.ts';

const id = recordId;
const archName = z.string().trim().min(1).max(64);
const version = z.string().trim().min(1).max(128);

export const registriesRouter = router({
  list: viewerProcedure.query(({ ctx }) => ctx.cp.catalogue.listRegistries()),
  create: adminProcedure
    .input(
      z.strictObject({
        url: z.string().trim().min(1).max(256),
        username: z.string().trim().min(1).max(256).nullish(),
        password: z.string().min(1).max(4096).nullish(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.cp.catalogue.createRegistry(actorOf(ctx.user), input)),
  update: adminProcedure
    .input(
      z.strictObject({
        id,
        url: z.string().trim().min(1).max(256).optional(),
        username: z.string().trim().min(1).max(256).nullish(),
        password: z.string().min(1).max(4096).nullish(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.cp.catalogue.updateRegistry(actorOf(ctx.user), input)),
  remove: adminProcedure
    .input(z.strictObject({ id }))
    .mutation(({ ctx, input }) => ctx.cp.catalogue.removeRegistry(actorOf(ctx.user), input.id)),
  addRepository: adminProcedure
    .input(z.strictObject({ registryId: id, name: z.string().trim().min(1).max(255) }))
    .mutation(({ ctx, input }) => ctx.cp.catalogue.addRepository(actorOf(ctx.user), input)),
  removeRepository: adminProcedure
    .input(z.strictObject({ id }))
    .mutation(({ ctx, input }) => ctx.cp.catalogue.removeRepository(actorOf(ctx.user), input.id)),
});

export const catalogueRouter = router({
  sync: operatorProcedure
    .input(z.strictObject({ repositoryId: id }))
    .mutation(({ ctx, input }) => ctx.cp.catalogue.sync(actorOf(ctx.user), input.repositoryId)),
  versions: viewerProcedure
    .input(z.strictObject({ repositoryId: id }))
    .query(({ ctx, input }) => ctx.cp.catalogue.versions(input.repositoryId)),
  browse: viewerProcedure
    .input(
      z.strictObject({
        repositoryId: id,
        version: version.optional(),
        from: archName.optional(),
        to: archName.optional(),
        arch: archName.optional(),
        limit: z.number().int().min(1).max(500).optional(),
      }),
    )
    .query(({ ctx, input }) => ctx.cp.catalogue.browse(input)),
  /** `latest` and `register` to the images an earlier build pushed (copied by digest in the registry). */
  repoint: adminProcedure
    .input(z.strictObject({ buildId: id }))
    .mutation(({ ctx, input }) => ctx.cp.catalogue.repoint(actorOf(ctx.user), input.buildId)),
  compare: viewerProcedure
    .input(z.strictObject({ repositoryId: id, a: version, b: version }))
    .query(({ ctx, input }) => ctx.cp.catalogue.compare(input.repositoryId, input.a, input.b)),
});

import { TARGET_IDS } from '@binfleet/arch-table';
import { z } from 'zod';
import { adminProcedure, operatorProcedure, router, viewerProcedure } from '../trpc.ts';

export const hostFilter = z.strictObject({
  search: z.string().max(128).optional(),
  online: z.boolean().optional(),
  group: z.string().max(64).optional(),
  arch: z.string().max(32).optional(),
});

/** The fleet page's filters: the host filters, "drifted only" and "needs attention" (jobs select hosts by hostFilter alone). */
const fleetFilter = hostFilter.extend({ drifted: z.boolean().optional(), attention: z.boolean().optional() });

const groupName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'A group name is 1-64 letters, digits, ".", "_", "-".');

export const fleetRouter = router({
  hosts: viewerProcedure
    .input(
      z.strictObject({
        filter: fleetFilter.default({}),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => ctx.cp.fleet.page(input.filter, input, ctx.reads)),
  hostIds: viewerProcedure
    .input(z.strictObject({ filter: fleetFilter }))
    .query(({ ctx, input }) => ctx.cp.fleet.ids(input.filter)),
  summary: viewerProcedure.query(({ ctx }) => ctx.cp.fleet.summary(ctx.reads)),
  coverage: viewerProcedure.query(({ ctx }) => ctx.cp.fleet.coverage(ctx.reads)),
  drift: viewerProcedure.query(({ ctx }) => ctx.cp.fleet.drift(ctx.reads)),
  host: viewerProcedure
    .input(z.strictObject({ id: z.string().min(1).max(64) }))
    .query(({ ctx, input }) => ctx.cp.fleet.host(input.id)),
  targets: viewerProcedure.query(() => TARGET_IDS),
  setGroup: operatorProcedure
    .input(
      z.strictObject({ hostIds: z.array(z.string().max(64)).min(1).max(5000), group: groupName.nullable() }),
    )
    .mutation(({ ctx, input }) => ctx.cp.hosts.setGroup(ctx.user, input.hostIds, input.group)),
  removeHost: adminProcedure
    .input(z.strictObject({ id: z.string().max(64) }))
    .mutation(({ ctx, input }) => ctx.cp.hosts.remove(ctx.user, input.id)),
  rotateCredential: adminProcedure
    .input(z.strictObject({ id: z.string().max(64) }))
    .mutation(({ ctx, input }) => ctx.cp.hosts.credentials.request(ctx.user, input.id)),
});

export { groupName };

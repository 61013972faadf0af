import { checkedBy, interpreterDirSchema, interpreterSuffixSchema } from '@binfleet/agent-contract';
import { kernelFlags, TARGET_IDS } from '@binfleet/arch-table';
import { z } from 'zod';
import { actorOf } from '../services/auth.ts';
import { adminProcedure, router, viewerProcedure } from '../trpc.ts';
import { groupName } from './fleet.ts';

/** A policy as the form sends it (also the draft a plan dry-runs). */
export const policyInput = z.strictObject({
  groupName: groupName.nullable(),
  targets: z.array(z.enum(TARGET_IDS)).max(TARGET_IDS.length),
  flags: checkedBy(kernelFlags),
  interpreterDir: interpreterDirSchema,
  suffix: interpreterSuffixSchema,
  autoHeal: z.boolean(),
});

export const policyRouter = router({
  list: viewerProcedure.query(({ ctx }) => ctx.cp.policies.list()),
  lintContext: viewerProcedure.query(({ ctx }) => ctx.cp.policies.lintContext()),
  set: adminProcedure.input(policyInput).mutation(({ ctx, input }) => ctx.cp.policies.set(ctx.user, input)),
  remove: adminProcedure
    .input(z.strictObject({ groupName: groupName.nullable() }))
    .mutation(({ ctx, input }) => ctx.cp.policies.remove(ctx.user, input.groupName)),
});

export const tokensRouter = router({
  list: adminProcedure.query(({ ctx }) => ctx.cp.hosts.joinTokens.list()),
  create: adminProcedure
    .input(
      z.strictObject({
        label: z.string().trim().min(1).max(64),
        expiresInHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 365),
        maxUses: z.number().int().min(1).max(100_000).nullable(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.cp.hosts.joinTokens.create(actorOf(ctx.user), input)),
  revoke: adminProcedure
    .input(z.strictObject({ id: z.string().max(64) }))
    .mutation(({ ctx, input }) => ctx.cp.hosts.joinTokens.revoke(ctx.user, input.id)),
});

export const auditRouter = router({
  list: viewerProcedure
    .input(
      z.strictObject({
        actor: z.string().max(64).optional(),
        action: z.string().max(64).optional(),
        host: z.string().max(253).optional(),
        outcomes: z
          .array(z.enum(['success', 'failure', 'denied']))
          .min(1)
          .max(3)
          .optional(),
        from: z.date().optional(),
        to: z.date().optional(),
        cursor: z.string().max(64).optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => ctx.cp.audit.list(input)),
  /** Retention: events older than `before` move to a file in the data folder's audit-archive/. */
  archive: adminProcedure
    .input(z.strictObject({ before: z.date() }))
    .mutation(({ ctx, input }) => ctx.cp.auditArchive.archive(actorOf(ctx.user), input.before)),
});

import { z } from 'zod';
import { autoHealIfNeeded } from '../services/auto-heal.ts';
import type { AgentReport, Heartbeat } from '../services/hosts.ts';
import { agentProcedure, publicProcedure, router } from '../trpc.ts';

// Entries as the agent reads them from the kernel; bounded so a broken agent cannot flood the database.
const entry = z.union([
  z.object({
    name: z.string().max(64),
    enabled: z.boolean(),
    interpreter: z.string().max(256),
    flags: z.string().max(4),
    type: z.literal('M'),
    offset: z.number().int().min(0).max(256),
    magic: z.string().max(512),
    mask: z.string().max(512).optional(),
  }),
  z.object({
    name: z.string().max(64),
    enabled: z.boolean(),
    interpreter: z.string().max(256),
    flags: z.string().max(4),
    type: z.literal('E'),
    extension: z.string().max(64),
  }),
]);

const report = {
  hostname: z.string().min(1).max(253),
  arch: z.string().max(32).optional(),
  kernel: z.string().max(128).optional(),
  dockerVersion: z.string().max(64).optional(),
  facts: z
    .record(z.string(), z.unknown())
    .refine((f) => JSON.stringify(f).length < 64_000, 'facts are too large'),
  entries: z.array(entry).max(512),
  /** How long ago the agent read its entries (its monotonic clock): dates them without trusting its wall clock. */
  entriesAgeMs: z.number().int().min(0).max(3_600_000).default(0),
  /** The reconciler's last error until a pass succeeds; null clears it. Dated by its age, as the entries. */
  reconcileError: z
    .strictObject({
      message: z.string().max(2000),
      ageMs: z
        .number()
        .int()
        .min(0)
        .max(30 * 86_400_000),
    })
    .nullable()
    .optional(),
};

/** What agents call: join with a join token, then heartbeat with the credential they got. */
export const agentApiRouter = router({
  join: publicProcedure
    .input(
      z.strictObject({
        joinToken: z.string().min(1).max(128),
        agentId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
        agentUrl: z.url({ protocol: /^https?$/ }).max(512),
        /** An agent that joined before proves it is that agent with its heartbeat credential. */
        heartbeatToken: z.string().min(1).max(128).optional(),
        ...report,
      }),
    )
    .mutation(({ ctx, input }) => ctx.cp.hosts.join(input as typeof input & AgentReport)),
  heartbeat: agentProcedure
    .input(
      z.strictObject({
        ...report,
        /** Where the agent is now; checked by the service with the join's rule, so a refused one is recorded. */
        agentUrl: z.string().min(1).max(512).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { agentUrlRefused } = await ctx.cp.hosts.heartbeat(ctx.host, input as Heartbeat);
      // Every heartbeat: drift also appears without the entries changing (a new policy).
      const healJob = await autoHealIfNeeded(
        { ...ctx.host, arch: input.arch ?? ctx.host.arch },
        ctx.cp,
        ctx.cp.config.autoHealPauseMs,
      );
      return {
        ok: true,
        heartbeatIntervalMs: ctx.cp.config.heartbeatIntervalMs,
        healJob,
        ...(agentUrlRefused ? { agentUrlRefused } : {}),
      };
    }),
});

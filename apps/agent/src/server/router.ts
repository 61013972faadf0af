import { z } from 'zod';
import { archNames, interpreterDirSchema, interpreterSuffixSchema } from '../services/desired-state.ts';
import { buildRequestSchema } from '../services/build-request.ts';
import { VERIFY_METHODS } from '../services/verify-service.ts';
import { agentProcedure, router } from './trpc.ts';

const someArchs = archNames.refine((targets) => targets.length > 0, 'Name at least one architecture.');

const registerOptions = {
  interpreterDir: interpreterDirSchema.optional(),
  suffix: interpreterSuffixSchema.optional(),
  credential: z.boolean().optional(),
  persistent: z.boolean().optional(),
  preserveArgv0: z.boolean().optional(),
};

// Strict objects: a misspelt option ("persistant") is an error, not silently the default.
const applyInput = z.strictObject({
  targets: archNames.optional(),
  ignoreFamily: z.boolean().optional(),
  disabled: archNames.optional(),
  ...registerOptions,
  reset: z.boolean().optional(),
  force: z.boolean().optional(),
});

// One object rather than a union: a bad architecture name is then reported as such ("targets: Unknown
// architecture ...") instead of zod's bare "Invalid input" for a union that matched no branch.
const removeInput = z
  .strictObject({ targets: someArchs.optional(), all: z.literal(true).optional() })
  .refine((i) => (i.targets === undefined) !== (i.all === undefined), {
    message: 'Give either targets (architectures to remove) or all: true.',
  });

const targetsInput = z.strictObject({ targets: someArchs });

const verifyInput = z.strictObject({
  targets: archNames.optional(),
  methods: z.array(z.enum(VERIFY_METHODS)).min(1).optional(),
});

const exportInput = z.strictObject({
  format: z.enum(['systemd', 'debian']),
  targets: archNames.optional(),
  ignoreFamily: z.boolean().optional(),
  ...registerOptions,
});

const buildId = z.strictObject({ id: z.string().min(1).max(128) });

export const agentRouter = router({
  facts: agentProcedure.query(({ ctx }) => ctx.agent.facts()),
  status: agentProcedure.query(({ ctx }) => ctx.agent.status()),
  // `apply` is reserved by tRPC (routers are callable proxies).
  applyState: agentProcedure.input(applyInput).mutation(({ ctx, input }) => ctx.agent.apply(input)),
  remove: agentProcedure
    .input(removeInput)
    .mutation(({ ctx, input }) => ctx.agent.remove(input.all ? 'all' : (input.targets ?? []))),
  enable: agentProcedure
    .input(targetsInput)
    .mutation(({ ctx, input }) => ctx.agent.setEnabled(input.targets, true)),
  disable: agentProcedure
    .input(targetsInput)
    .mutation(({ ctx, input }) => ctx.agent.setEnabled(input.targets, false)),
  verify: agentProcedure.input(verifyInput).mutation(({ ctx, input }) => ctx.agent.verify(input)),
  export: agentProcedure.input(exportInput).query(({ ctx, input }) => ctx.agent.export(input)),
  // Image builds, on builder agents: one at a time; follow with buildStatus / buildLog.
  build: agentProcedure.input(buildRequestSchema).mutation(({ ctx, input }) => ctx.agent.builds.start(input)),
  buildStatus: agentProcedure.input(buildId).query(({ ctx, input }) => ctx.agent.builds.get(input.id)),
  buildLog: agentProcedure
    .input(buildId.extend({ from: z.number().int().min(0).default(0) }))
    .query(({ ctx, input }) => ctx.agent.builds.log(input.id, input.from)),
  cancelBuild: agentProcedure.input(buildId).mutation(({ ctx, input }) => ctx.agent.builds.cancel(input.id)),
  builds: agentProcedure.query(({ ctx }) => ctx.agent.builds.list()),
});

export type AgentRouter = typeof agentRouter;

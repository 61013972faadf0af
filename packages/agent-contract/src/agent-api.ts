import { z } from 'zod';
import {
  agentFactsSchema,
  agentStatusSchema,
  applyOutcomeSchema,
  exportFilesSchema,
  removeOutcomeSchema,
  toggleOutcomeSchema,
} from './agent-state.ts';
import { archNames, interpreterDirSchema, interpreterSuffixSchema } from './arch-inputs.ts';
import { buildLogSchema, buildReportSchema, buildRequestSchema } from './build.ts';
import { upgradeAgentInputSchema, upgradeAgentOutcomeSchema } from './agent-upgrade.ts';
import { list } from './list.ts';
import { fetchPackageInputSchema, fetchPackageOutcomeSchema } from './package-transfer.ts';
import { VERIFY_METHODS, verifyOutcomeSchema } from './verify.ts';

const someArchs = archNames.check(
  z.refine((targets) => targets.length > 0, 'Name at least one architecture.'),
);

const registerOptions = {
  interpreterDir: z.optional(interpreterDirSchema),
  suffix: z.optional(interpreterSuffixSchema),
  credential: z.boolean().optional(),
  persistent: z.boolean().optional(),
  preserveArgv0: z.boolean().optional(),
};

// Strict objects: a misspelt option ("persistant") is an error, not silently the default.
export const applyInputSchema = z.strictObject({
  /** Default: every target the host needs (qemu-binfmt-conf.sh's host-family rules). */
  targets: z.optional(archNames),
  ignoreFamily: z.boolean().optional(),
  disabled: z.optional(archNames),
  ...registerOptions,
  /** Remove every qemu-* entry first, like the seed's --reset. */
  reset: z.boolean().optional(),
  /** Replace entries registered with other settings, and register beside entries whose magic overlaps. */
  force: z.boolean().optional(),
  /** Register targets whose magic matches this host's own programs (breaks the host): logged as an audit line. */
  forceNative: z.boolean().optional(),
  /** Register without F although emulators are missing (a staged install). */
  allowMissing: z.boolean().optional(),
});

// One object rather than a union: a bad architecture name is then reported as such ("targets: Unknown
// architecture ...") instead of zod's bare "Invalid input" for a union that matched no branch.
export const removeInputSchema = z
  .strictObject({ targets: z.optional(someArchs), all: z.literal(true).optional() })
  .refine((i) => (i.targets === undefined) !== (i.all === undefined), {
    message: 'Give either targets (architectures to remove) or all: true.',
  });

export const targetsInputSchema = z.strictObject({ targets: someArchs });

export const verifyInputSchema = z.strictObject({
  /** Default: every qemu-<target> entry registered now. */
  targets: z.optional(archNames),
  /** Default: both. */
  methods: z.array(z.enum(VERIFY_METHODS)).min(1).optional(),
});

export const exportInputSchema = z.strictObject({
  format: z.enum(['systemd', 'debian']),
  targets: z.optional(archNames),
  ignoreFamily: z.boolean().optional(),
  ...registerOptions,
});

const buildId = z.strictObject({ id: z.string().min(1).max(128) });
const noInput = z.undefined();

const query = <I extends z.ZodType, O extends z.ZodType>(input: I, output: O) =>
  ({ kind: 'query', input, output }) as const;
const mutation = <I extends z.ZodType, O extends z.ZodType>(input: I, output: O) =>
  ({ kind: 'mutation', input, output }) as const;

/**
 * Every procedure of the agent's API (`/trpc/<name>`): its kind, what it takes and what it answers.
 * The agent's router is built on it and the control plane's gateway calls through it; both parse
 * every message with these schemas.
 */
export const agentApi = {
  facts: query(noInput, agentFactsSchema),
  status: query(noInput, agentStatusSchema),
  // `apply` is reserved by tRPC (routers are callable proxies).
  applyState: mutation(applyInputSchema, applyOutcomeSchema),
  remove: mutation(removeInputSchema, removeOutcomeSchema),
  enable: mutation(targetsInputSchema, toggleOutcomeSchema),
  disable: mutation(targetsInputSchema, toggleOutcomeSchema),
  verify: mutation(verifyInputSchema, verifyOutcomeSchema),
  export: query(exportInputSchema, exportFilesSchema),
  // Image builds, on builder agents: one at a time; follow with buildStatus / buildLog.
  build: mutation(buildRequestSchema, buildReportSchema),
  buildStatus: query(buildId, buildReportSchema),
  buildLog: query(buildId.extend({ from: z.number().int().min(0).default(0) }), buildLogSchema),
  cancelBuild: mutation(buildId, buildReportSchema),
  builds: query(noInput, list(buildReportSchema)),
  // A dial-out builder's packages: fetched by the agent from the control plane (a direct one's are PUT).
  fetchPackage: mutation(fetchPackageInputSchema, fetchPackageOutcomeSchema),
  // Contract 3: install the release the control plane serves, answer, then restart on it.
  upgradeAgent: mutation(upgradeAgentInputSchema, upgradeAgentOutcomeSchema),
};

export type AgentApi = typeof agentApi;
export type AgentProcedureName = keyof AgentApi;
/** What a procedure takes, as a caller writes it (aliases, defaults left out). */
export type AgentInput<N extends AgentProcedureName> = z.input<AgentApi[N]['input']>;
/** What a procedure answers, once parsed. */
export type AgentOutput<N extends AgentProcedureName> = z.output<AgentApi[N]['output']>;

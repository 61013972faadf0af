import { TARGET_IDS } from '@binfleet/arch-table';
import { z } from 'zod';

const targets = z.array(z.enum(TARGET_IDS)).min(1).max(TARGET_IDS.length);
const flags = {
  persistent: z.boolean().default(false),
  credential: z.boolean().default(false),
  preserveArgv0: z.boolean().default(false),
  /**
   * API only (no form offers it): register targets that take a host's own programs, which breaks
   * that host. The job's audit line carries it; each agent warns and logs an audit line of its own.
   */
  forceNative: z.literal(true).optional(),
};

/**
 * Every action a job can run on hosts, with its parameters. `reset-register` with `usePolicy` takes
 * targets and flags from each host's policy at run time.
 */
export const jobParams = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('reset-register'),
    usePolicy: z.boolean().default(false),
    targets: targets.optional(),
    ...flags,
  }),
  z.strictObject({ kind: z.literal('register'), targets, ...flags }),
  z.strictObject({ kind: z.literal('remove'), targets: targets.optional(), all: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('enable'), targets }),
  z.strictObject({ kind: z.literal('disable'), targets }),
  z.strictObject({ kind: z.literal('verify'), targets: targets.optional() }),
  // Admins only (jobs.upgradeAgent): installs the agent release this control plane serves.
  z.strictObject({ kind: z.literal('upgrade-agent') }),
]);

export type JobParams = z.output<typeof jobParams>;
export type JobKind = JobParams['kind'];
export const JOB_KINDS = [
  'reset-register',
  'register',
  'remove',
  'enable',
  'disable',
  'verify',
  'upgrade-agent',
] as const satisfies readonly JobKind[];

/** Kinds only admins may start: they change the agent itself, not binfmt_misc. */
export const ADMIN_JOB_KINDS: readonly JobKind[] = ['upgrade-agent'];
/** The kinds operators start through jobs.create (the job action dialog). */
export type OperatorJobKind = Exclude<JobKind, 'upgrade-agent'>;

export function describeJob(p: JobParams): string {
  const list = 'targets' in p && p.targets ? p.targets.join(', ') : 'all';
  switch (p.kind) {
    case 'reset-register':
      return (
        (p.usePolicy
          ? 'Reset and register per policy'
          : `Reset and register ${list}${p.persistent ? ' (persistent)' : ''}`) + forcedNative(p)
      );
    case 'register':
      return `Register ${list}${forcedNative(p)}`;
    case 'remove':
      return `Remove ${p.all ? 'all qemu entries' : list}`;
    case 'enable':
    case 'disable':
      return `${p.kind === 'enable' ? 'Enable' : 'Disable'} ${list}`;
    case 'verify':
      return `Verify ${list}`;
    case 'upgrade-agent':
      return 'Upgrade the agent to the version this control plane serves';
  }
}

const forcedNative = (p: { readonly forceNative?: true | undefined }) =>
  p.forceNative ? ' (FORCE NATIVE: may break the hosts)' : '';

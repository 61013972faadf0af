import type { EntryStatus } from '@binfleet/agent-contract';
import { flagOptionsOf, type KernelEntry } from '@binfleet/arch-table';
import type { AgentConnection } from '../agents/agent-gateway.ts';
import { ControlPlaneError } from '../errors.ts';
import type { JobParams } from '../../shared/job-kinds.ts';
import type { PolicySpec } from './policy.ts';

export interface ActionOutcome {
  /** The host's entries read back from its kernel after the action. */
  readonly entries: KernelEntry[];
  readonly detail: unknown;
  /** For verify: whether every check passed. */
  readonly ok: boolean;
}

/**
 * Runs one job action on one host's agent. The agent answers with its kernel's entries afterwards;
 * agents of contract 1 did so only for applyState, so for them the entries are read with status.
 */
export async function runJobAction(
  agent: AgentConnection,
  params: JobParams,
  policy: PolicySpec | null,
  /** The upgrade agent job on this host (services/hosts/agent-upgrade.ts). */
  upgradeAgent?: () => Promise<ActionOutcome>,
): Promise<ActionOutcome> {
  const outcome = async (
    answer: { readonly entries?: readonly EntryStatus[] | undefined },
    detail: unknown,
    ok = true,
  ): Promise<ActionOutcome> => {
    const entries = answer.entries ?? (await agent.status()).binfmt.entries;
    return { entries: entries.map((e) => e.entry), detail, ok };
  };
  /**
   * The answer without the entries that contract 2 added to it (the outcome carries them): the detail
   * of remove, enable and disable stays what it was. applyState's detail always held its entries.
   */
  const withoutEntries = <T extends { entries?: unknown }>({ entries: _, ...rest }: T) => rest;
  switch (params.kind) {
    case 'reset-register': {
      if (params.usePolicy && !policy)
        throw new ControlPlaneError(
          'INVALID_INPUT',
          'No policy applies to this host: set a fleet or group policy, or give targets and flags.',
        );
      const options =
        params.usePolicy && policy
          ? {
              ...(policy.targets.length ? { targets: [...policy.targets] } : {}),
              interpreterDir: policy.interpreterDir,
              suffix: policy.suffix,
              ...flagOptionsOf(policy.flags),
            }
          : {
              ...(params.targets ? { targets: params.targets } : {}),
              persistent: params.persistent,
              credential: params.credential,
              preserveArgv0: params.preserveArgv0,
            };
      const applied = await agent.applyState({ ...options, ...forceNativeOf(params), reset: true });
      return outcome(applied, applied);
    }
    case 'register': {
      const applied = await agent.applyState({
        targets: params.targets,
        persistent: params.persistent,
        credential: params.credential,
        preserveArgv0: params.preserveArgv0,
        ...forceNativeOf(params),
        force: true,
      });
      return outcome(applied, applied);
    }
    case 'remove': {
      const removed = await agent.remove(
        params.all || !params.targets ? { all: true } : { targets: params.targets },
      );
      return outcome(removed, withoutEntries(removed));
    }
    case 'enable':
    case 'disable': {
      const changed = await agent[params.kind]({ targets: params.targets });
      return outcome(changed, withoutEntries(changed));
    }
    case 'verify': {
      const report = await agent.verify(params.targets ? { targets: params.targets } : {});
      return outcome(report, withoutEntries(report), report.passed);
    }
    case 'upgrade-agent':
      if (!upgradeAgent) throw new ControlPlaneError('INVALID_INPUT', 'This runner cannot upgrade agents.');
      return upgradeAgent();
  }
}

/** Sent only when asked for: agents of before the guard rails do not know the field. */
const forceNativeOf = (params: { readonly forceNative?: true | undefined }) =>
  params.forceNative ? { forceNative: true } : {};

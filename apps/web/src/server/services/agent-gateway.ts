import type { KernelEntry } from '@binfleet/arch-table';
import { createAgentClient, type AgentClient } from '@binfleet/agent/client';
import { flagOptionsOf } from '@binfleet/arch-table';
import { TRPCClientError } from '@trpc/client';
import type { Host } from '@binfleet/db';
import type { JobParams } from '../../shared/job-kinds.ts';
import { ControlPlaneError } from '../errors.ts';
import type { PolicySpec } from './policy.ts';

export interface ActionOutcome {
  /** The host's entries read back from its kernel after the action. */
  readonly entries: KernelEntry[];
  readonly detail: unknown;
  /** For verify: whether every check passed. */
  readonly ok: boolean;
}

export type AgentClientFactory = (url: string, token: string) => AgentClient;

/** Transient: worth retrying (the agent's operations are idempotent). */
export class TransientAgentError extends ControlPlaneError {}

/**
 * Runs one job action on one host's agent and reads back the kernel state. Errors come out as
 * ControlPlaneError with a message for the job row: plain words, what to do.
 */
export class AgentGateway {
  constructor(
    private readonly tokenOf: (host: Host) => string,
    private readonly timeoutMs: number,
    private readonly clientFactory: AgentClientFactory = createAgentClient,
  ) {}

  async run(host: Host, params: JobParams, policy: PolicySpec | null): Promise<ActionOutcome> {
    const client = this.clientFactory(host.agentUrl, this.tokenOf(host));
    const signal = AbortSignal.timeout(this.timeoutMs);
    const call = async <T>(fn: () => Promise<T>) => {
      try {
        return await fn();
      } catch (error) {
        throw this.translate(host, error, signal);
      }
    };
    let detail: unknown;
    let ok = true;
    switch (params.kind) {
      case 'reset-register': {
        const fromPolicy = params.usePolicy && policy;
        const options = fromPolicy
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
        if (params.usePolicy && !policy)
          throw new ControlPlaneError(
            'INVALID_INPUT',
            'No policy applies to this host: set a fleet or group policy, or give targets and flags.',
          );
        detail = await call(() => client.applyState.mutate({ ...options, reset: true }, { signal }));
        break;
      }
      case 'register':
        detail = await call(() =>
          client.applyState.mutate(
            {
              targets: params.targets,
              persistent: params.persistent,
              credential: params.credential,
              preserveArgv0: params.preserveArgv0,
              force: true,
            },
            { signal },
          ),
        );
        break;
      case 'remove':
        detail = await call(() =>
          client.remove.mutate(params.all || !params.targets ? { all: true } : { targets: params.targets }, {
            signal,
          }),
        );
        break;
      case 'enable':
        detail = await call(() => client.enable.mutate({ targets: params.targets }, { signal }));
        break;
      case 'disable':
        detail = await call(() => client.disable.mutate({ targets: params.targets }, { signal }));
        break;
      case 'verify': {
        const report = await call(() =>
          client.verify.mutate(params.targets ? { targets: params.targets } : {}, { signal }),
        );
        ok = report.passed;
        detail = report;
        break;
      }
    }
    const status = await call(() => client.status.query(undefined, { signal }));
    return { entries: status.binfmt.entries.map((e) => e.entry as KernelEntry), detail, ok };
  }

  private translate(host: Host, error: unknown, signal: AbortSignal): ControlPlaneError {
    if (signal.aborted) {
      return new TransientAgentError(
        'AGENT_UNREACHABLE',
        `The agent on ${host.hostname} did not answer within ${Math.round(this.timeoutMs / 1000)} s: check that it is running and not overloaded.`,
      );
    }
    if (error instanceof TRPCClientError) {
      const code = (error.data as { code?: string } | undefined)?.code;
      if (code === 'UNAUTHORIZED') {
        return new ControlPlaneError(
          'AGENT_FAILED',
          `The agent on ${host.hostname} refused our credential: rotate its credential or re-join it.`,
        );
      }
      if (code === 'TOO_MANY_REQUESTS') {
        return new TransientAgentError(
          'AGENT_FAILED',
          `The agent on ${host.hostname} is busy: ${error.message}`,
        );
      }
      if (code) return new ControlPlaneError('AGENT_FAILED', `${host.hostname}: ${error.message}`);
      const cause =
        (error.cause as { cause?: { code?: string } } | undefined)?.cause?.code ??
        (error.cause as { code?: string } | undefined)?.code;
      return new TransientAgentError(
        'AGENT_UNREACHABLE',
        `The agent on ${host.hostname} at ${host.agentUrl} is unreachable${cause ? ` (${cause})` : ''}: check that binfleet-agent is running there and the address is right.`,
      );
    }
    return new TransientAgentError(
      'AGENT_UNREACHABLE',
      `The agent on ${host.hostname} could not be reached: ${(error as Error).message}`,
    );
  }
}

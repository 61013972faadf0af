import {
  agentApi,
  type AgentInput,
  type AgentOutput,
  type AgentProcedureName,
} from '@binfleet/agent-contract';
import type { Host } from '@binfleet/db';
import { translateAgentError } from './agent-errors.ts';
import {
  AgentCallFailure,
  type AgentTransport,
  type AgentTransportFactory,
  type PackageUpload,
} from './agent-transport.ts';
import { httpTransport } from './http-transport.ts';
import { agentUrlForRecord } from '../security/agent-url.ts';
import type { OutboundPolicy } from '../security/outbound.ts';
import { outboundProblem } from './outbound-rules.ts';

/** A host as far as calling its agent goes. */
export type AgentHost = Pick<
  Host,
  'id' | 'hostname' | 'agentUrl' | 'agentId' | 'agentTokenSealed' | 'transport'
>;

/**
 * One agent, ready to be called: a method per procedure of the agent API, each answer parsed with
 * the contract, each failure an AgentCallError (a ControlPlaneError) in plain words.
 */
export type AgentConnection = {
  readonly [N in AgentProcedureName]: (
    ...input: undefined extends AgentInput<N> ? [input?: AgentInput<N>] : [input: AgentInput<N>]
  ) => Promise<AgentOutput<N>>;
} & {
  /** Sends a package to the agent's package store, unless it has it already. */
  sendPackage(upload: PackageUpload): Promise<'sent' | 'present'>;
};

export interface AgentGatewayOptions {
  /** The credential to call a host's agent with. */
  readonly tokenOf: (host: AgentHost) => string;
  /** How long one call may take (a package transfer is given up when it stalls instead). */
  readonly timeoutMs: number;
  /** Hosts and CIDRs agents may be called at (BINFLEET_AGENT_URL_ALLOW); empty: any. */
  readonly agentUrlAllow: readonly string[];
  /** The outbound rules every call goes through (the HTTP transport resolves and connects by them). */
  readonly outbound: OutboundPolicy;
  /** How agents are reached: HTTP to their URL unless a test or another transport says. */
  readonly transport?: AgentTransportFactory;
  /** How dial-out hosts are reached (their channel); without it, calling one fails saying so. */
  readonly dialOut?: (host: AgentHost, timeoutMs: number) => AgentTransport;
}

/**
 * The control plane's one way to its agents: jobs, builds, package transfers and verifies all call
 * through here. It alone knows how to reach an agent (URL, credential, transport: the host's
 * `transport` picks HTTP to its URL or its dial-out channel), checks the outbound rules before every direct call, parses every answer with the contract and translates every
 * failure in one place (agent-errors.ts).
 */
export class AgentGateway {
  private readonly transport: AgentTransportFactory;

  constructor(private readonly options: AgentGatewayOptions) {
    this.transport = options.transport ?? httpTransport(options.outbound);
  }

  /** The same gateway with calls given up sooner (health checks must finish within their interval). */
  withTimeout(timeoutMs: number): AgentGateway {
    return new AgentGateway({ ...this.options, transport: this.transport, timeoutMs });
  }

  connect(host: AgentHost): AgentConnection {
    // The credential is opened once the outbound rules allow the call, and only for it.
    const open = (): AgentTransport => {
      // A dial-out host has no URL to check: nothing connects to it, its channel carries the call.
      if (host.transport === 'dial-out') {
        if (!this.options.dialOut)
          throw new AgentCallFailure(
            { kind: 'unreachable', reason: 'no channel' },
            'this control plane takes no dial-out channels',
          );
        return this.options.dialOut(host, this.options.timeoutMs);
      }
      const problem = outboundProblem(host.agentUrl, this.options.agentUrlAllow);
      if (problem)
        throw new AgentCallFailure(
          { kind: 'refused', data: { code: 'FORBIDDEN' } },
          `not called: its URL ${agentUrlForRecord(host.agentUrl)} breaks the rules for agent URLs (${problem})`,
        );
      return this.transport({ url: host.agentUrl, token: this.options.tokenOf(host) });
    };
    const call = async (name: AgentProcedureName, input: unknown) => {
      const { kind, output } = agentApi[name];
      const signal = AbortSignal.timeout(this.options.timeoutMs);
      let answer: unknown;
      try {
        answer = await open().call(name, kind, input, signal);
      } catch (error) {
        throw translateAgentError(host, error, signal.aborted ? this.options.timeoutMs : undefined);
      }
      const parsed = output.safeParse(answer);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`);
        throw translateAgentError(
          host,
          new AgentCallFailure({ kind: 'malformed', procedure: name }, issues.slice(0, 5).join('; ')),
        );
      }
      return parsed.data;
    };
    const procedures = Object.fromEntries(
      Object.keys(agentApi).map((name) => [
        name,
        (input?: unknown) => call(name as AgentProcedureName, input),
      ]),
    ) as unknown as Omit<AgentConnection, 'sendPackage'>;
    return {
      ...procedures,
      sendPackage: async (upload) => {
        try {
          return await open().sendPackage(upload);
        } catch (error) {
          throw translateAgentError(host, error);
        }
      },
    };
  }
}

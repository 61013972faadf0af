import type { AgentErrorData, AgentProcedureName } from '@binfleet/agent-contract';

/** Where an agent is, and the credential it is called with. */
export interface AgentEndpoint {
  readonly url: string;
  readonly token: string;
}

/** A package on this server, on its way to an agent's package store. */
export interface PackageUpload {
  readonly sha256: string;
  readonly path: string;
  readonly size: number;
  /** Bytes sent so far, as they go. */
  readonly onProgress?: (sent: number) => void;
}

/**
 * One way of reaching an agent: today HTTP to the URL it advertised (http-transport.ts); a channel the
 * agent dials out on is the next (issue #14). A transport only moves messages: the gateway parses
 * what comes back and translates what goes wrong, whichever transport carried it.
 */
export interface AgentTransport {
  /** Calls a procedure of the agent API; resolves with the answer as sent, rejects with AgentCallFailure. */
  call(
    procedure: AgentProcedureName,
    kind: 'query' | 'mutation',
    input: unknown,
    signal: AbortSignal,
  ): Promise<unknown>;
  /**
   * Puts a package into the agent's package store unless it is there: sent to a direct agent, fetched by
   * a dial-out one over a connection of its own. Rejects with AgentCallFailure.
   */
  sendPackage(upload: PackageUpload): Promise<'sent' | 'present'>;
}

export type AgentTransportFactory = (endpoint: AgentEndpoint) => AgentTransport;

/** What went wrong with a call, whatever carried it. */
export type AgentFailure =
  /** The agent answered with an error (its message is the failure's). */
  | { readonly kind: 'refused'; readonly data: AgentErrorData }
  /** No answer: `reason` is the network's word for it (ECONNREFUSED), when there is one. */
  | { readonly kind: 'unreachable'; readonly reason?: string }
  /** An answer the contract does not allow (its issues are the failure's message). */
  | { readonly kind: 'malformed'; readonly procedure: string };

export class AgentCallFailure extends Error {
  override readonly name = 'AgentCallFailure';
  constructor(
    readonly failure: AgentFailure,
    message: string,
  ) {
    super(message);
  }
}

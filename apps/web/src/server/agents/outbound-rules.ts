import { agentUrlProblem } from '../security/agent-url.ts';

/**
 * Why the control plane must not call an agent at `url`, if it must not: checked before every call,
 * whatever the transport, since each call carries the agent's credential. The rule every joined URL
 * passed (http(s), no credentials, query or fragment) and the allow-list of agent URLs
 * (BINFLEET_AGENT_URL_ALLOW; empty: any), so a host stored before the list was set or narrowed is
 * not called either.
 */
export function outboundProblem(url: string, allow: readonly string[]): string | undefined {
  return agentUrlProblem(url, allow);
}

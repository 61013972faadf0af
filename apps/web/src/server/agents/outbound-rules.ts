import { agentUrlProblem } from '../security/agent-url.ts';

/**
 * Why the control plane must not call an agent at `url`, if it must not: checked before every call,
 * whatever the transport, since each call carries the agent's credential. Today: the rule every
 * joined URL passed (http(s), no credentials, query or fragment); the allow-list of agent URLs
 * (issue #13) belongs here too.
 */
export function outboundProblem(url: string): string | undefined {
  return agentUrlProblem(url, []);
}

/**
 * The version of this contract. A fleet is upgraded one side at a time, so the two sides of a call
 * may be one version apart:
 *
 * - A control plane at version N serves agents at N and N - 1, and refuses older ones with a message
 *   saying to upgrade the agent. An agent that reports no version (contract 1 agents did not) counts
 *   as the oldest one served.
 * - Newer agents are served too: join and heartbeat accept (and drop) fields they do not know, and
 *   every answer is parsed the same way on the agent's side.
 * - So a change within one version step only adds: new fields are optional, and a field new in N is
 *   sent to an agent only when it reports N (the agent API's inputs are strict: a misspelt option
 *   is an error there, not silently the default).
 *
 * Version 2: agents report their version and contract version in the facts of join and heartbeat, and remove,
 * enable, disable and verify answer with the kernel's entries afterwards (as applyState did).
 * Version 3: `upgradeAgent` (the agent installs the release its control plane serves and restarts on it),
 * and `fetchPackage` (a dial-out builder fetches a build's uploaded package from its control plane).
 * Within version 3: heartbeat answers carry `held` (digests of the facts and entries the heartbeat
 * carried), and an agent that got them may name unchanged facts or entries by them (`unchanged`)
 * instead of sending them; a control plane holding others answers `resend`. Only to a control plane
 * that answered `held`, and forgotten when a heartbeat fails: one without them (rolled back) refuses
 * one heartbeat, and gets everything from the next.
 */
export const CONTRACT_VERSION = 3;

export const OLDEST_SERVED_CONTRACT_VERSION = CONTRACT_VERSION - 1;

/**
 * The contract version an agent reports: in its facts (`contractVersion`, beside `agentVersion`), not
 * as a field of join and heartbeat of its own, because a control plane one version behind (contract 1
 * parsed those strictly) must still take a newer agent's messages.
 */
export function reportedContractVersion(report: {
  readonly facts?: Record<string, unknown> | undefined;
}): number | undefined {
  const version = report.facts?.['contractVersion'];
  return typeof version === 'number' && Number.isInteger(version) ? version : undefined;
}

/** The version an agent speaks: what it reports, or the oldest one served when it reports none. */
export function contractVersionOf(reported: number | undefined): number {
  return reported ?? OLDEST_SERVED_CONTRACT_VERSION;
}

/** Why a control plane at CONTRACT_VERSION cannot serve an agent reporting `reported`, if it cannot. */
export function contractVersionProblem(reported: number | undefined): string | undefined {
  const version = contractVersionOf(reported);
  if (version >= OLDEST_SERVED_CONTRACT_VERSION) return undefined;
  return (
    `this agent speaks contract version ${version}, and this control plane (version ${CONTRACT_VERSION}) ` +
    `serves agents of version ${OLDEST_SERVED_CONTRACT_VERSION} and newer: upgrade binfleet-agent on this host`
  );
}

/** Procedures added after contract 1, with the version that added them: older agents do not have them. */
export const PROCEDURE_SINCE: Readonly<Record<string, number>> = {
  upgradeAgent: 3,
  fetchPackage: 3,
};

/**
 * Why an agent reporting `reported` cannot be called with `procedure`, if it cannot: it speaks a
 * contract older than the one that added it. Asked before the call, so the caller gets this plain
 * reason instead of the agent's "no such procedure".
 */
export function procedureProblem(procedure: string, reported: number | undefined): string | undefined {
  const since = PROCEDURE_SINCE[procedure];
  const version = contractVersionOf(reported);
  if (since === undefined || version >= since) return undefined;
  return (
    `this agent speaks contract version ${version} and has no ${procedure} (contract ${since} added it): ` +
    'run the install line from Fleet > Add host on the host once; later upgrades can then be done from here'
  );
}

import {
  CONTRACT_VERSION,
  contractVersionProblem,
  reportedContractVersion,
  heartbeatInputSchema,
  joinInputSchema,
  type HeartbeatAnswer,
} from '@binfleet/agent-contract';
import { z } from 'zod';
import { ControlPlaneError } from '../errors.ts';
import { autoHealIfNeeded } from '../services/auto-heal.ts';
import { agentProcedure, heartbeatProcedure, publicProcedure, router } from '../trpc.ts';

/** Agents of a contract version this control plane no longer serves are refused with what to do. */
function requireServed(what: string, report: { facts: Record<string, unknown> }): void {
  const problem = contractVersionProblem(reportedContractVersion(report));
  if (problem) throw new ControlPlaneError('INVALID_INPUT', `Cannot ${what}: ${problem}.`);
}

/** What agents call: join with a join token, then heartbeat with the credential they got. */
export const agentApiRouter = router({
  join: publicProcedure.input(joinInputSchema).mutation(async ({ ctx, input }) => {
    requireServed('join', input);
    return { ...(await ctx.cp.hosts.enrolment.join(input)), contractVersion: CONTRACT_VERSION };
  }),
  // Parsed by the service, not here: a malformed result is refused and audited there.
  callResult: agentProcedure
    .input(z.unknown())
    .mutation(({ ctx, input }) => ctx.cp.dialOut.calls.result(ctx.host, input)),
  heartbeat: heartbeatProcedure.input(heartbeatInputSchema).mutation(async ({ ctx, input }) => {
    requireServed('take the heartbeat', input);
    const { host, agentUrlRefused } = await ctx.cp.hosts.enrolment.beat(ctx.sender, ctx.bearer, input);
    // Every heartbeat: drift also appears without the entries changing (a new policy).
    const healJob = await autoHealIfNeeded(host, ctx.cp, ctx.cp.config.autoHealPauseMs);
    // Until the agent heartbeats with it, every answer carries the new credential: one lost answer
    // must not leave the rotation waiting for good.
    const newCredential = ctx.cp.hosts.credentials.offer(host);
    return {
      ok: true,
      heartbeatIntervalMs: ctx.cp.config.heartbeatIntervalMs,
      healJob,
      contractVersion: CONTRACT_VERSION,
      ...(agentUrlRefused ? { agentUrlRefused } : {}),
      ...(newCredential ? { newCredential } : {}),
    } satisfies HeartbeatAnswer;
  }),
});

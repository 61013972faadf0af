import {
  CONTRACT_VERSION,
  contractVersionProblem,
  reportedContractVersion,
  heartbeatInputSchema,
  joinInputSchema,
  syncParser,
  type HeartbeatAnswer,
} from '@binfleet/agent-contract';
import { z } from 'zod';
import { ControlPlaneError } from '../errors.ts';
import { autoHealIfNeeded } from '../services/auto-heal.ts';
import { agentProcedure, heartbeatProcedure, publicProcedure, router } from '../trpc.ts';

/**
 * Agents of a contract version this control plane no longer serves are refused with what to do. Facts
 * named as unchanged were checked when they were sent.
 */
function requireServed(what: string, report: { facts?: Record<string, unknown> | undefined }): void {
  if (report.facts === undefined) return;
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
  // Every agent, every interval: checked with zod's synchronous parse (syncParser).
  heartbeat: heartbeatProcedure
    .input(syncParser(heartbeatInputSchema))
    .mutation(async ({ ctx, input }): Promise<HeartbeatAnswer> => {
      requireServed('take the heartbeat', input);
      const beat = await ctx.cp.hosts.enrolment.beat(ctx.sender, ctx.bearer, input);
      const answer = {
        ok: true,
        heartbeatIntervalMs: ctx.cp.config.heartbeatIntervalMs,
        contractVersion: CONTRACT_VERSION,
      } as const;
      // Nothing was recorded: the agent sends the same heartbeat again at once, in full.
      if (beat.resend) return { ...answer, resend: true };
      const { host, held, agentUrlRefused } = beat;
      // Every heartbeat: drift also appears without the entries changing (a new policy).
      const healJob = await autoHealIfNeeded(host, ctx.cp, ctx.cp.config.autoHealPauseMs);
      // Until the agent heartbeats with it, every answer carries the new credential: one lost answer
      // must not leave the rotation waiting for good.
      const newCredential = ctx.cp.hosts.credentials.offer(host);
      return {
        ...answer,
        healJob,
        held,
        ...(agentUrlRefused ? { agentUrlRefused } : {}),
        ...(newCredential ? { newCredential } : {}),
      };
    }),
});

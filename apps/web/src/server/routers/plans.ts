import { z } from 'zod';
import { jobParams } from '../../shared/job-kinds.ts';
import { operatorProcedure, router } from '../trpc.ts';
import { policyInput } from './admin.ts';
import { recordId } from './inputs.ts';

const planRequest = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('action'),
    params: jobParams,
    hostIds: z.array(recordId).min(1).max(5000),
  }),
  z.strictObject({ kind: z.literal('policy'), draft: policyInput }),
]);

export const plansRouter = router({
  /**
   * What a job or a policy draft would change, per host; changes nothing. A mutation only in transport:
   * 5,000 host ids do not fit a GET URL, so it is sent as a POST (with the CSRF header).
   */
  preview: operatorProcedure.input(planRequest).mutation(({ ctx, input }) => ctx.cp.plans.plan(input)),
});

import { RunStatus } from '@binfleet/db';
import { z } from 'zod';

/** A row id as routers accept it. */
export const recordId = z.string().min(1).max(64);

/** One page of a newest-first list of runs (jobs, builds), optionally of one status. */
export const runPage = z.strictObject({
  status: z.enum(RunStatus).optional(),
  cursor: z.string().max(64).optional(),
  limit: z.number().int().min(1).max(100).default(25),
});

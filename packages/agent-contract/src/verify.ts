import { TARGET_IDS } from '@binfleet/arch-table';
import { z } from 'zod';
import { entryStatusSchema, MAX_ENTRIES } from './kernel-entry.ts';
import { list } from './list.ts';

/** probe: a binary of the target run through this host's binfmt_misc; container: in a container of that platform. */
export const VERIFY_METHODS = ['probe', 'container'] as const;
export type VerifyMethod = (typeof VERIFY_METHODS)[number];

export const verifyCheckSchema = z.object({
  target: z.enum(TARGET_IDS),
  method: z.enum(VERIFY_METHODS),
  status: z.enum(['pass', 'fail', 'skipped']),
  /** What `uname -m` printed, when it ran. */
  output: z.string().optional(),
  /** Why it passed, failed or was skipped, and what to do. */
  detail: z.string(),
  durationMs: z.number(),
});

export const verifyReportSchema = z.object({
  startedAt: z.string(),
  checks: list(verifyCheckSchema),
  /** At least one check passed and none failed: all-skipped proves nothing. */
  passed: z.boolean(),
});

/** The agent API's verify answers with the kernel's entries too (contract 2 on). */
export const verifyOutcomeSchema = verifyReportSchema.extend({
  entries: list(entryStatusSchema, MAX_ENTRIES).optional(),
});

export type VerifyCheck = z.output<typeof verifyCheckSchema>;
export type VerifyReport = z.output<typeof verifyReportSchema>;
export type VerifyOutcome = z.output<typeof verifyOutcomeSchema>;

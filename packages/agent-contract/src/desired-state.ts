import { TARGET_IDS } from '@binfleet/arch-table';
import * as z from 'zod/mini';
import { interpreterDirSchema, interpreterSuffixSchema } from './arch-inputs.ts';

/**
 * How a host's emulators should be registered. Defaults are the seed's (/usr/bin, -static). zod's mini
 * API, like the other schemas the agent's CLI reads (arch-inputs.ts, @binfleet/env): its startup loads
 * no more of zod than these use. Schemas of the full API take it as any other.
 */
const targetList = z.array(z.enum(TARGET_IDS)).check(z.maxLength(TARGET_IDS.length));

export const desiredStateSchema = z.object({
  targets: targetList,
  /** Targets that stay registered but switched off. */
  disabled: z._default(targetList, []),
  interpreterDir: z._default(interpreterDirSchema, '/usr/bin'),
  suffix: z._default(interpreterSuffixSchema, '-static'),
  credential: z._default(z.boolean(), false),
  persistent: z._default(z.boolean(), false),
  preserveArgv0: z._default(z.boolean(), false),
  /** The caller accepted targets that match this host's own programs: the reconciler keeps them too. */
  forceNative: z._default(z.boolean(), false),
  /** The caller accepted missing emulators (no F, a staged install): the reconciler keeps them too. */
  allowMissing: z._default(z.boolean(), false),
});

export type DesiredState = z.output<typeof desiredStateSchema>;
export type DesiredStateInput = z.input<typeof desiredStateSchema>;

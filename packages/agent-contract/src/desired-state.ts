import { TARGET_IDS } from '@binfleet/arch-table';
import { z } from 'zod';
import { interpreterDirSchema, interpreterSuffixSchema } from './arch-inputs.ts';

/** How a host's emulators should be registered. Defaults are the seed's (/usr/bin, -static). */
export const desiredStateSchema = z.object({
  targets: z.array(z.enum(TARGET_IDS)).max(TARGET_IDS.length),
  /** Targets that stay registered but switched off. */
  disabled: z.array(z.enum(TARGET_IDS)).max(TARGET_IDS.length).default([]),
  interpreterDir: interpreterDirSchema.default('/usr/bin'),
  suffix: interpreterSuffixSchema.default('-static'),
  credential: z.boolean().default(false),
  persistent: z.boolean().default(false),
  preserveArgv0: z.boolean().default(false),
  /** The caller accepted targets that match this host's own programs: the reconciler keeps them too. */
  forceNative: z.boolean().default(false),
  /** The caller accepted missing emulators (no F, a staged install): the reconciler keeps them too. */
  allowMissing: z.boolean().default(false),
});

export type DesiredState = z.output<typeof desiredStateSchema>;
export type DesiredStateInput = z.input<typeof desiredStateSchema>;

import { z } from 'zod';
import { AgentError } from '../errors.ts';
import {
  resolveArchs,
  TARGET_IDS,
  validateInterpreterDir,
  validateInterpreterSuffix,
  ArchTableError,
  type TargetId,
} from '@binfleet/arch-table';

/** Any alias the arch table resolves (arm64, linux/arm64, arm64v8, aarch64), turned into target ids. */
export const archNames = z
  .array(z.string().min(1).max(64))
  .max(200)
  .transform((names, ctx) => {
    try {
      return resolveArchs(names);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as ArchTableError).message });
      return z.NEVER;
    }
  });

/** A string schema that runs an arch-table validator and reports its message as the zod issue. */
export const checkedBy = <T>(check: (v: string) => T) =>
  z
    .string()
    .max(256)
    .transform((value, ctx) => {
      try {
        return check(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

export const interpreterDirSchema = checkedBy(validateInterpreterDir);
export const interpreterSuffixSchema = checkedBy(validateInterpreterSuffix);

/** How this host's emulators should be registered. Defaults are the seed's (/usr/bin, -static). */
export const desiredStateSchema = z.object({
  targets: z.array(z.enum(TARGET_IDS)).max(TARGET_IDS.length),
  /** Targets that stay registered but switched off. */
  disabled: z.array(z.enum(TARGET_IDS)).max(TARGET_IDS.length).default([]),
  interpreterDir: interpreterDirSchema.default('/usr/bin'),
  suffix: interpreterSuffixSchema.default('-static'),
  credential: z.boolean().default(false),
  persistent: z.boolean().default(false),
  preserveArgv0: z.boolean().default(false),
});

export type DesiredState = z.output<typeof desiredStateSchema>;
export type DesiredStateInput = z.input<typeof desiredStateSchema>;

/** Validates a desired state; bad input becomes an AgentError that says which field and why. */
export function desiredState(input: DesiredStateInput): DesiredState {
  const result = desiredStateSchema.safeParse(input);
  if (!result.success) {
    const why = result.error.issues
      .map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message)
      .join('; ');
    throw new AgentError('INVALID_INPUT', why);
  }
  return result.data;
}

export type { TargetId };

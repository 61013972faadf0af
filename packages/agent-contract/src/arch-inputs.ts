import {
  resolveArchs,
  validateInterpreterDir,
  validateInterpreterSuffix,
  type ArchTableError,
} from '@binfleet/arch-table';
import { z } from 'zod';

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

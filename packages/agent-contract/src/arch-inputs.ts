import {
  resolveArchs,
  validateInterpreterDir,
  validateInterpreterSuffix,
  type ArchTableError,
} from '@binfleet/arch-table';
import * as z from 'zod/mini';

// zod's mini API: desired-state.ts says why. Wrap these in the full API's functions (z.optional(...)),
// not methods: mini schemas have none but .check() (which takes the full API's checks, z.refine).

/** Any alias the arch table resolves (arm64, linux/arm64, arm64v8, aarch64), turned into target ids. */
export const archNames = z.pipe(
  z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.maxLength(200)),
  z.transform((names: string[], ctx) => {
    try {
      return resolveArchs(names);
    } catch (error) {
      ctx.issues.push({ code: 'custom', message: (error as ArchTableError).message, input: names });
      return z.NEVER;
    }
  }),
);

/** A string schema that runs an arch-table validator and reports its message as the zod issue. */
export const checkedBy = <T>(check: (v: string) => T) =>
  z.pipe(
    z.string().check(z.maxLength(256)),
    z.transform((value: string, ctx) => {
      try {
        return check(value);
      } catch (error) {
        ctx.issues.push({ code: 'custom', message: (error as Error).message, input: value });
        return z.NEVER;
      }
    }),
  );

export const interpreterDirSchema = checkedBy(validateInterpreterDir);
export const interpreterSuffixSchema = checkedBy(validateInterpreterSuffix);

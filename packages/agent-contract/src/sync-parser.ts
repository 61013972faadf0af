import type { z } from 'zod';

/** A contract schema as tRPC runs it (its type is read from `_input` and `_output`, which zod's have). */
export interface SyncParser<In, Out> {
  readonly _input: In;
  readonly _output: Out;
  parse(value: unknown): Out;
}

/**
 * A contract schema for tRPC's `.input()` / `.output()`, checked with zod's synchronous `parse`.
 * Given the schema itself, tRPC calls its `parseAsync`, which zod runs without the code it compiles
 * for each object schema: the agent's applyState answer (31 actions and 31 entries) took ~100 us
 * that way against ~30 us, and a third of what a call allocated (docs/operations.md). The contract's
 * schemas have no async refinements.
 */
export const syncParser = <S extends z.ZodType>(schema: S): SyncParser<z.input<S>, z.output<S>> =>
  ({ parse: (value: unknown) => schema.parse(value) }) as SyncParser<z.input<S>, z.output<S>>;

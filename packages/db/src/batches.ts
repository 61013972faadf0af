/**
 * Values per query when a query filters on a long list (`{ in: values }`). Prisma splits a lone
 * `in` list itself, but not one beside another condition, an orderBy or a groupBy: then the query
 * has more bind parameters than SQLite allows (999 through its driver adapter) and fails with
 * "The query parameter limit supported by your database is exceeded". Fleets of a thousand hosts
 * and registries of thousands of tags reach that.
 */
export const IN_BATCH_SIZE = 500;

/**
 * `run` over `values` in batches of at most `size`, one at a time, results concatenated in batch
 * order (a write returns nothing). Use it for any list that grows with the fleet or a registry; a result that needs a global
 * order (orderBy) must be sorted again by the caller, and per-value aggregates stay right only when
 * each value's rows come back in one batch (group by the batched column).
 */
export async function inBatches<T, R>(
  values: readonly T[],
  run: (batch: T[]) => Promise<readonly R[] | void>,
  size = IN_BATCH_SIZE,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < values.length; i += size) out.push(...((await run(values.slice(i, i + size))) ?? []));
  return out;
}

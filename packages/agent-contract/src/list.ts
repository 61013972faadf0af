import { z } from 'zod';

/** An array in an answer: read-only, so that senders may answer with their own read-only arrays. */
export const list = <T extends z.ZodType>(item: T, max?: number) =>
  (max === undefined ? z.array(item) : z.array(item).max(max)).readonly();

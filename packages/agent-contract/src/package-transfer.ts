import { z } from 'zod';

/** `PUT` and `GET /packages/<sha256>`: stores a package for builds, tells whether it is there. */
export const packageAnswerSchema = z.object({
  ok: z.boolean(),
  sha256: z.string().optional(),
  size: z.number().optional(),
  /** Why not, on a refusal. */
  error: z.string().optional(),
});

/** Where a package is on an agent, relative to its base URL. */
export const packagePath = (sha256: string) => `packages/${sha256}`;

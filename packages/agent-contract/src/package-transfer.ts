import { z } from 'zod';

/** A package's name in every store: its sha256, 64 lower-case hex digits. */
export const packageSha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'Name the package by its sha256: 64 lower-case hex digits.');

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

/**
 * Where a dial-out builder fetches a package a build of its needs, relative to the control plane's URL
 * (`GET`, authenticated with the agent's heartbeat credential): the control plane opens no connection
 * to such a host, so the package travels on one the agent opens.
 */
export const controlPlanePackagePath = (sha256: string) => `api/agent/packages/${sha256}`;

/** `fetchPackage`: a dial-out builder's package store has the package, kept before or fetched now. */
export const fetchPackageInputSchema = z.strictObject({ sha256: packageSha256Schema });
export const fetchPackageOutcomeSchema = z.object({
  outcome: z.enum(['present', 'fetched']),
  size: z.number().int().nonnegative(),
});
export type FetchPackageOutcome = z.output<typeof fetchPackageOutcomeSchema>;

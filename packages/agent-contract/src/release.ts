import { z } from 'zod';

/** A file name the control plane may serve: no path, nothing a shell or a URL would read twice. */
export const releaseFileNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$/, 'a plain file name (letters, digits, . _ + -)');

/**
 * `dist/agent/manifest.json`, written by `pnpm agent:package`: the agent release a control plane
 * serves to the hosts it installs (GET /agent/install.sh pins this version and these checksums).
 */
export const agentReleaseManifestSchema = z.object({
  version: z.string().regex(/^[0-9][0-9A-Za-z.+~-]{0,63}$/, 'a package version, e.g. 0.2.0'),
  contractVersion: z.number().int().positive(),
  node: z.string().max(32).optional(),
  artifacts: z
    .array(
      z.object({
        file: releaseFileNameSchema,
        kind: z.enum(['deb', 'tarball', 'image']),
        arch: z.string().regex(/^[a-z0-9_-]{1,32}$/),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        size: z.number().int().nonnegative(),
      }),
    )
    .max(64),
});
export type AgentReleaseManifest = z.output<typeof agentReleaseManifestSchema>;

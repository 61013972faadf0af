import { z } from 'zod';

/** One file of an agent release, as `pnpm agent:package` writes it into dist/agent/. */
export const agentReleaseArtifactSchema = z.object({
  file: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._+~-]*$/)
    .describe('file name in the release folder, no path'),
  kind: z.enum(['deb', 'tarball', 'image']),
  arch: z.literal('all').describe('JavaScript on Node.js: one file for every architecture'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});

/**
 * dist/agent/manifest.json: what an agent release holds, read by the control plane that serves it
 * (and by install scripts through it).
 */
export const agentReleaseManifestSchema = z.object({
  version: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/),
  contractVersion: z.number().int().positive(),
  node: z.string().describe('the Node.js versions the bundle runs on, e.g. ">=18"'),
  artifacts: z.array(agentReleaseArtifactSchema).min(1),
});

export type AgentReleaseArtifact = z.infer<typeof agentReleaseArtifactSchema>;
export type AgentReleaseManifest = z.infer<typeof agentReleaseManifestSchema>;

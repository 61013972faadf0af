import { z } from 'zod';
import { agentReleaseArtifactSchema, agentReleaseManifestSchema } from './release-manifest.ts';

/**
 * `upgradeAgent`: install the agent tarball the control plane serves and restart on it. The agent
 * downloads `<its control plane URL>/agent/files/<file>` (the URL it joined and heartbeats to, with
 * the same TLS trust), so the control plane names a file, never a URL of its choosing.
 */
export const upgradeAgentInputSchema = z.strictObject({
  file: agentReleaseArtifactSchema.shape.file,
  sha256: agentReleaseArtifactSchema.shape.sha256,
  size: agentReleaseArtifactSchema.shape.size,
  version: agentReleaseManifestSchema.shape.version,
});

/**
 * `restarting`: installed, answered, and the agent exits so that it starts again on `version`.
 * `current`: it runs `version` already; nothing was done.
 */
export const upgradeAgentOutcomeSchema = z.object({
  status: z.enum(['restarting', 'current']),
  version: z.string(),
  previousVersion: z.string(),
  /** Where the version was unpacked. */
  installedAt: z.string().optional(),
});

export type UpgradeAgentInput = z.infer<typeof upgradeAgentInputSchema>;
export type UpgradeAgentOutcome = z.infer<typeof upgradeAgentOutcomeSchema>;

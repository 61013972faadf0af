import * as z from 'zod/mini';
import type { DesiredState } from '@binfleet/agent-contract';

export const DEFAULT_STATE_DIR = '/var/lib/binfleet-agent';

/** zod's mini API: the CLI loads this module (for DEFAULT_STATE_DIR), and its start only the zod it uses. */
export const fleetLinkSchema = z.object({
  version: z.literal(1),
  /** Generated once: the control plane recognises a re-joining host by it. */
  agentId: z.string().check(z.regex(/^[A-Za-z0-9-]{8,64}$/)),
  link: z.nullable(
    z.object({
      serverUrl: z.url(),
      hostId: z.string().check(z.minLength(1), z.maxLength(64)),
      /** Presented on heartbeats; the server keeps only its hash. */
      heartbeatToken: z.string().check(z.minLength(24), z.maxLength(512)),
      /** How the control plane reaches this agent, as its join answered (absent: direct). */
      transport: z.optional(z.enum(['direct', 'dial-out'])),
    }),
  ),
});

export type FleetLinkFile = z.output<typeof fleetLinkSchema>;

/**
 * SHA-256 (hex) of the API token the agent accepts, and, after the control plane issued a new one (a
 * credential rotation), of the one it replaces: accepted too until the new one is first presented.
 */
export interface TokenHashes {
  readonly hash: string;
  readonly previousHash?: string;
}

/**
 * What the agent keeps across restarts and reboots: the desired state (re-applied by the reconciler),
 * the hash of its API token and its link to a control plane. FileStateStore is the real one.
 */
export interface StateStore {
  /** Where it keeps them, for messages (and the packages folder beside them). */
  readonly dir: string;
  /** Where the token hash is kept, for the message that shows a new token. */
  readonly tokenFile: string;
  /** The agent's id and its link to a control plane; the id is created on first use. */
  readFleetLink(): Promise<FleetLinkFile>;
  writeFleetLink(file: FleetLinkFile): Promise<void>;
  /** The desired state, or undefined when nobody has applied one on this host yet. */
  readDesired(): Promise<DesiredState | undefined>;
  writeDesired(state: DesiredState): Promise<void>;
  /** The API token's hash (and the one a rotation replaced, until the new token is used). */
  readTokenHashes(): Promise<TokenHashes | undefined>;
  writeTokenHashes(hashes: TokenHashes): Promise<void>;
}

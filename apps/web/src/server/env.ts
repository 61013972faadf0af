import path from 'node:path';

/**
 * The control plane's configuration, read from the environment in this one place. Durations are in
 * milliseconds. Every value has a default that works for `scripts/setup.sh` on one machine.
 */
export interface WebConfig {
  readonly databaseUrl?: string;
  readonly dataDir: string;
  /** The AES-256-GCM key that seals agent credentials; created on first start when missing. */
  readonly secretKeyFile: string;
  readonly bootstrapAdmin?: { readonly username: string; readonly password: string };
  /** Cookies get `Secure` unless explicitly served over plain HTTP (localhost development, tests). */
  readonly secureCookies: boolean;
  readonly sessionTtlMs: number;
  readonly heartbeatIntervalMs: number;
  /** A host that missed this many heartbeats is offline. */
  readonly offlineAfterMissed: number;
  /** After an auto-heal job on a host, no other one for this long (a heal that keeps failing must not flood). */
  readonly autoHealPauseMs: number;
  /** Packages admins upload for builds: kept under `dir` by sha256, each at most `maxBytes`. */
  readonly packages: { readonly dir: string; readonly maxBytes: number };
  /** How often the runner syncs every configured repository from its registry; 0: only on demand and after builds. */
  readonly catalogueSyncIntervalMs: number;
  readonly runner: {
    readonly enabled: boolean;
    readonly concurrency: number;
    readonly pollMs: number;
    readonly leaseMs: number;
    readonly callTimeoutMs: number;
    readonly maxAttempts: number;
  };
  /**
   * Sign-in limits within 15 minutes: attempts per account from one client address, and per account
   * from all addresses together (the ceiling a guesser spread over many addresses runs into).
   */
  readonly loginLimits: { readonly perAddress: number; readonly perAccount: number };
  /** Take the client address from the last X-Forwarded-For entry (the one a trusted proxy added). */
  readonly trustProxy: boolean;
  /** Hosts and CIDRs an agent's callback URL may point at; empty: any. */
  readonly agentUrlAllow: readonly string[];
}

const int = (value: string | undefined, fallback: number) => {
  const n = value === undefined || value === '' ? NaN : Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
};

export function readWebConfig(env: NodeJS.ProcessEnv = process.env): WebConfig {
  // turbopackIgnore: a runtime path, not a file of the build to trace.
  const dataDir = path.resolve(/*turbopackIgnore: true*/ env.BINFLEET_DATA_DIR || 'data');
  const admin =
    env.BINFLEET_ADMIN_USERNAME && env.BINFLEET_ADMIN_PASSWORD
      ? { username: env.BINFLEET_ADMIN_USERNAME, password: env.BINFLEET_ADMIN_PASSWORD }
      : undefined;
  return {
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    dataDir,
    secretKeyFile: env.BINFLEET_SECRET_KEY_FILE || path.join(dataDir, 'secret.key'),
    ...(admin ? { bootstrapAdmin: admin } : {}),
    secureCookies: env.BINFLEET_INSECURE_COOKIES !== '1',
    sessionTtlMs: int(env.BINFLEET_SESSION_TTL_MS, 12 * 3600_000),
    heartbeatIntervalMs: int(env.BINFLEET_HEARTBEAT_INTERVAL_MS, 15_000),
    offlineAfterMissed: int(env.BINFLEET_OFFLINE_AFTER_MISSED, 3),
    autoHealPauseMs: int(env.BINFLEET_AUTO_HEAL_PAUSE_MS, 60_000),
    packages: {
      dir: path.join(dataDir, 'packages'),
      // Int column; Debian's qemu-user-static is about 60 MB.
      maxBytes: Math.min(int(env.BINFLEET_PACKAGE_MAX_BYTES, 256 * 1024 * 1024), 2 ** 31 - 1),
    },
    catalogueSyncIntervalMs: int(env.BINFLEET_CATALOGUE_SYNC_INTERVAL_MS, 15 * 60_000),
    runner: {
      enabled: env.BINFLEET_RUNNER !== 'off',
      concurrency: int(env.BINFLEET_RUNNER_CONCURRENCY, 8),
      pollMs: int(env.BINFLEET_RUNNER_POLL_MS, 500),
      leaseMs: int(env.BINFLEET_RUNNER_LEASE_MS, 60_000),
      callTimeoutMs: int(env.BINFLEET_AGENT_CALL_TIMEOUT_MS, 30_000),
      maxAttempts: int(env.BINFLEET_JOB_MAX_ATTEMPTS, 3),
    },
    loginLimits: {
      perAddress: int(env.BINFLEET_LOGIN_LIMIT_PER_ADDRESS, 5),
      perAccount: int(env.BINFLEET_LOGIN_LIMIT_PER_ACCOUNT, 50),
    },
    trustProxy: env.BINFLEET_TRUST_PROXY === '1',
    agentUrlAllow: (env.BINFLEET_AGENT_URL_ALLOW ?? '')
      .split(/[\s,]+/)
      .map((a) => a.trim())
      .filter(Boolean),
  };
}

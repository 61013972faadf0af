import { existsSync } from 'node:fs';
import path from 'node:path';
import { databaseProvider, DEFAULT_DATABASE_URL, redactUrl } from '@binfleet/db';
import { anyText, oneOf, parseEnv, variable, wholeNumber } from '@binfleet/env';
import { z } from 'zod';
import { allowListProblem } from './security/agent-url.ts';
import { normalizePublicUrl, publicUrlProblem } from './security/public-url.ts';
import { cidrProblem } from './security/networks.ts';
import type { LoginLimitSettings } from './services/login-limits.ts';

/**
 * The control plane's configuration, read from the environment in this one place. Durations are in
 * milliseconds. Every value has a default that works for `scripts/setup.sh` on one machine.
 */
export interface WebConfig {
  readonly databaseUrl: string;
  readonly dataDir: string;
  /** The AES-256-GCM key that seals agent credentials; created on first start when missing. */
  readonly secretKeyFile: string;
  readonly bootstrapAdmin?: { readonly username: string; readonly password: string };
  /**
   * Cookies get `Secure` on every request that came over https (directly or through a trusted proxy),
   * and on plain-http ones too unless BINFLEET_INSECURE_COOKIES=1 (localhost development, tests).
   */
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
  /** The runner's health checks of every agent (reachability): how often, and how many calls at once; interval 0: off. */
  readonly health: { readonly intervalMs: number; readonly concurrency: number };
  /** Dial-out agents' channels: how often an open one speaks (an agent reconnects after 3x this of silence). */
  readonly channelKeepaliveMs: number;
  readonly runner: {
    readonly enabled: boolean;
    readonly concurrency: number;
    readonly pollMs: number;
    readonly leaseMs: number;
    readonly callTimeoutMs: number;
    /** How long an upgrade agent row waits for a heartbeat reporting the new version. */
    readonly upgradeWaitMs: number;
    readonly maxAttempts: number;
  };
  /**
   * Sign-in limits per window (fixed windows of `windowMs`): attempts per account from one client
   * address, per account from all addresses together (the ceiling a guesser spread over many
   * addresses runs into), per address for any account (unknown names too), per known device.
   */
  readonly loginLimits: LoginLimitSettings;
  /** Password hashes at once, and sign-ins that may wait for one before the server answers 503. */
  readonly hashQueue: { readonly concurrency: number; readonly queueLimit: number };
  /** Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses and CIDRs); empty: none. */
  readonly trustedProxies: readonly string[];
  /** Hosts and CIDRs an agent's callback URL may point at; empty: any. */
  readonly agentUrlAllow: readonly string[];
  /**
   * The address hosts reach this control plane at (install line, agents' --server). Admins may
   * override it in Settings; unset, the join dialog uses the browser's origin and warns.
   */
  readonly publicUrl?: string;
  /** Where `pnpm agent:package` put the agent release this control plane serves to hosts. */
  readonly agentDistDir?: string;
  /**
   * The control plane's own certificate (the web server, scripts/serve.ts, speaks HTTPS with it).
   * Install codes then carry its public key's sha256, which the install script pins.
   */
  readonly tls?: { readonly cert: string; readonly key: string };
  /**
   * Where the control plane may send requests at all (registries, agents): host names, `*.suffix`,
   * addresses and CIDRs; empty: anywhere but link-local and cloud-metadata addresses (never allowed).
   */
  readonly outboundAllow: readonly string[];
}

const ON_OFF = oneOf({ '0': false, '1': true });

/** An allow-list of host names, addresses and CIDRs (commas or spaces between), refused at start when malformed. */
function allowList(exampleName: string) {
  const example = `10.0.0.0/8, ${exampleName}`;
  return {
    allowed: `host names, addresses and CIDRs separated by commas or spaces, e.g. ${example}`,
    parse: (text: string) => {
      const allow = text.split(/[\s,]+/).filter(Boolean);
      const problem = allowListProblem(allow);
      if (problem) throw new Error(`${problem}: give host names, addresses and CIDRs, e.g. ${example}`);
      return allow;
    },
  };
}

/** One line a variable; docs/control-plane.md's configuration table says the same. */
const webEnvSchema = z
  .object({
    DATABASE_URL: variable(
      {
        allowed:
          'a SQLite file (file:./data/binfleet.db) or a PostgreSQL database (postgresql://user:password@host:5432/binfleet)',
        parse: (url) => (isDatabaseUrl(url) ? url : undefined),
      },
      DEFAULT_DATABASE_URL,
    ),
    BINFLEET_DATA_DIR: variable(anyText, 'data'),
    BINFLEET_SECRET_KEY_FILE: variable(anyText),
    BINFLEET_ADMIN_USERNAME: variable(anyText),
    BINFLEET_ADMIN_PASSWORD: variable(anyText),
    BINFLEET_INSECURE_COOKIES: variable(ON_OFF, false),
    BINFLEET_SESSION_TTL_MS: variable(wholeNumber(1), 12 * 3600_000),
    BINFLEET_HEARTBEAT_INTERVAL_MS: variable(wholeNumber(1), 15_000),
    BINFLEET_OFFLINE_AFTER_MISSED: variable(wholeNumber(1), 3),
    BINFLEET_AUTO_HEAL_PAUSE_MS: variable(wholeNumber(0), 60_000),
    // Int column; Debian's qemu-user-static is about 60 MB.
    BINFLEET_PACKAGE_MAX_BYTES: variable(wholeNumber(1, 2 ** 31 - 1), 256 * 1024 * 1024),
    BINFLEET_CATALOGUE_SYNC_INTERVAL_MS: variable(wholeNumber(0), 15 * 60_000),
    BINFLEET_HEALTH_INTERVAL_MS: variable(wholeNumber(0), 60_000),
    BINFLEET_HEALTH_CONCURRENCY: variable(wholeNumber(1), 16),
    BINFLEET_CHANNEL_KEEPALIVE_MS: variable(wholeNumber(200), 15_000),
    BINFLEET_RUNNER: variable(oneOf({ on: true, off: false }), true),
    BINFLEET_RUNNER_CONCURRENCY: variable(wholeNumber(1), 8),
    BINFLEET_RUNNER_POLL_MS: variable(wholeNumber(1), 500),
    BINFLEET_RUNNER_LEASE_MS: variable(wholeNumber(1), 60_000),
    BINFLEET_AGENT_CALL_TIMEOUT_MS: variable(wholeNumber(1), 30_000),
    BINFLEET_JOB_MAX_ATTEMPTS: variable(wholeNumber(1), 3),
    BINFLEET_AGENT_UPGRADE_WAIT_MS: variable(wholeNumber(1), 90_000),
    BINFLEET_LOGIN_LIMIT_PER_ADDRESS: variable(wholeNumber(1), 5),
    BINFLEET_LOGIN_LIMIT_PER_ACCOUNT: variable(wholeNumber(1), 50),
    BINFLEET_PUBLIC_URL: variable({
      allowed: 'an http(s) URL without credentials, query or fragment, e.g. https://binfleet.example.com',
      parse: (text) => (publicUrlProblem(text) ? undefined : normalizePublicUrl(text)),
    }),
    BINFLEET_AGENT_DIST: variable(anyText),
    BINFLEET_TLS_CERT: variable(anyText),
    BINFLEET_TLS_KEY: variable(anyText),
    BINFLEET_LOGIN_LIMIT_PER_CLIENT: variable(wholeNumber(1), 30),
    BINFLEET_LOGIN_LIMIT_PER_DEVICE: variable(wholeNumber(1), 10),
    BINFLEET_LOGIN_WINDOW_MS: variable(wholeNumber(1000), 15 * 60_000),
    BINFLEET_LOGIN_REFUSAL_DELAY_MS: variable(wholeNumber(0, 60_000), 1000),
    BINFLEET_LOGIN_HASH_CONCURRENCY: variable(wholeNumber(1, 64), 1),
    BINFLEET_LOGIN_HASH_QUEUE: variable(wholeNumber(0, 1000), 8),
    BINFLEET_TRUSTED_PROXIES: variable(
      {
        allowed: 'addresses and CIDRs separated by commas or spaces, e.g. 127.0.0.1, 10.0.0.0/8',
        parse: (text) => {
          const list = text.split(/[\s,]+/).filter(Boolean);
          const problem = list.map(cidrProblem).find(Boolean);
          if (problem) throw new Error(`${problem}: give the addresses (or CIDRs) of your reverse proxies`);
          return list;
        },
      },
      [],
    ),
    // Replaced: "1" believed X-Forwarded-For from anyone.
    BINFLEET_TRUST_PROXY: variable({
      allowed:
        'no longer used: list the addresses of your reverse proxies in BINFLEET_TRUSTED_PROXIES instead',
      parse: () => undefined,
    }),
    BINFLEET_OUTBOUND_ALLOW: variable(allowList('registry.lan'), []),
    // Checked at start, like the other: a typo must not silently allow nothing.
    BINFLEET_AGENT_URL_ALLOW: variable(allowList('*.fleet.lan'), []),
  })
  // One without the other would silently create no admin.
  .refine((env) => (env.BINFLEET_TLS_CERT === undefined) === (env.BINFLEET_TLS_KEY === undefined), {
    path: ['BINFLEET_TLS_KEY'],
    message: 'BINFLEET_TLS_CERT and BINFLEET_TLS_KEY go together: set both for HTTPS, or neither',
  })
  .refine((env) => env.BINFLEET_ADMIN_PASSWORD !== undefined || env.BINFLEET_ADMIN_USERNAME === undefined, {
    path: ['BINFLEET_ADMIN_PASSWORD'],
    message: 'set it with BINFLEET_ADMIN_USERNAME (the first admin), or set neither',
  })
  .refine((env) => env.BINFLEET_ADMIN_USERNAME !== undefined || env.BINFLEET_ADMIN_PASSWORD === undefined, {
    path: ['BINFLEET_ADMIN_USERNAME'],
    message: 'set it with BINFLEET_ADMIN_PASSWORD (the first admin), or set neither',
  });

/**
 * The configuration for `env`, checked as a whole: a value that is not allowed throws an EnvError
 * naming it (the server then does not start), never falls back to the default.
 */
export function readWebConfig(env: Readonly<Record<string, string | undefined>> = process.env): WebConfig {
  const e = parseEnv(webEnvSchema, env, {
    shown: { DATABASE_URL: redactUrl, BINFLEET_ADMIN_PASSWORD: () => '***' },
  });
  // turbopackIgnore: a runtime path, not a file of the build to trace.
  const dataDir = path.resolve(/*turbopackIgnore: true*/ e.BINFLEET_DATA_DIR);
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir,
    secretKeyFile: e.BINFLEET_SECRET_KEY_FILE ?? path.join(dataDir, 'secret.key'),
    ...(e.BINFLEET_ADMIN_USERNAME && e.BINFLEET_ADMIN_PASSWORD
      ? { bootstrapAdmin: { username: e.BINFLEET_ADMIN_USERNAME, password: e.BINFLEET_ADMIN_PASSWORD } }
      : {}),
    secureCookies: !e.BINFLEET_INSECURE_COOKIES,
    sessionTtlMs: e.BINFLEET_SESSION_TTL_MS,
    heartbeatIntervalMs: e.BINFLEET_HEARTBEAT_INTERVAL_MS,
    offlineAfterMissed: e.BINFLEET_OFFLINE_AFTER_MISSED,
    autoHealPauseMs: e.BINFLEET_AUTO_HEAL_PAUSE_MS,
    packages: { dir: path.join(dataDir, 'packages'), maxBytes: e.BINFLEET_PACKAGE_MAX_BYTES },
    catalogueSyncIntervalMs: e.BINFLEET_CATALOGUE_SYNC_INTERVAL_MS,
    health: { intervalMs: e.BINFLEET_HEALTH_INTERVAL_MS, concurrency: e.BINFLEET_HEALTH_CONCURRENCY },
    channelKeepaliveMs: e.BINFLEET_CHANNEL_KEEPALIVE_MS,
    runner: {
      enabled: e.BINFLEET_RUNNER,
      concurrency: e.BINFLEET_RUNNER_CONCURRENCY,
      pollMs: e.BINFLEET_RUNNER_POLL_MS,
      leaseMs: e.BINFLEET_RUNNER_LEASE_MS,
      callTimeoutMs: e.BINFLEET_AGENT_CALL_TIMEOUT_MS,
      maxAttempts: e.BINFLEET_JOB_MAX_ATTEMPTS,
      upgradeWaitMs: e.BINFLEET_AGENT_UPGRADE_WAIT_MS,
    },
    loginLimits: {
      perAddress: e.BINFLEET_LOGIN_LIMIT_PER_ADDRESS,
      perAccount: e.BINFLEET_LOGIN_LIMIT_PER_ACCOUNT,
      perClient: e.BINFLEET_LOGIN_LIMIT_PER_CLIENT,
      perDevice: e.BINFLEET_LOGIN_LIMIT_PER_DEVICE,
      windowMs: e.BINFLEET_LOGIN_WINDOW_MS,
      refusalDelayMs: e.BINFLEET_LOGIN_REFUSAL_DELAY_MS,
    },
    hashQueue: {
      concurrency: e.BINFLEET_LOGIN_HASH_CONCURRENCY,
      queueLimit: e.BINFLEET_LOGIN_HASH_QUEUE,
    },
    trustedProxies: e.BINFLEET_TRUSTED_PROXIES,
    agentUrlAllow: e.BINFLEET_AGENT_URL_ALLOW,
    ...(e.BINFLEET_PUBLIC_URL ? { publicUrl: e.BINFLEET_PUBLIC_URL } : {}),
    ...(e.BINFLEET_TLS_CERT && e.BINFLEET_TLS_KEY
      ? {
          tls: {
            cert: path.resolve(/*turbopackIgnore: true*/ e.BINFLEET_TLS_CERT),
            key: path.resolve(/*turbopackIgnore: true*/ e.BINFLEET_TLS_KEY),
          },
        }
      : {}),
    ...(agentDistDir(e.BINFLEET_AGENT_DIST) ? { agentDistDir: agentDistDir(e.BINFLEET_AGENT_DIST)! } : {}),
    outboundAllow: e.BINFLEET_OUTBOUND_ALLOW,
  };
}

/** BINFLEET_AGENT_DIST, else dist/agent in the checkout the server runs from. */
function agentDistDir(given: string | undefined): string | undefined {
  if (given) return path.resolve(/*turbopackIgnore: true*/ given);
  for (let dir = process.cwd(); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return path.join(dir, 'dist', 'agent');
  }
  return undefined;
}

function isDatabaseUrl(url: string): boolean {
  try {
    databaseProvider(url);
    return true;
  } catch {
    return false;
  }
}

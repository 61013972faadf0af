import path from 'node:path';
import { EnvError } from '@binfleet/env';
import { describe, expect, it } from 'vitest';
import { readWebConfig } from './env.ts';

const messageOf = (env: Record<string, string>) => {
  try {
    readWebConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
};

describe('readWebConfig', () => {
  it('has a default for every value, the same for unset and empty variables', () => {
    const dataDir = path.resolve('data');
    const defaults = {
      databaseUrl: 'file:./data/binfleet.db',
      dataDir,
      secretKeyFile: path.join(dataDir, 'secret.key'),
      secureCookies: true,
      sessionTtlMs: 12 * 3600_000,
      heartbeatIntervalMs: 15_000,
      offlineAfterMissed: 3,
      autoHealPauseMs: 60_000,
      packages: { dir: path.join(dataDir, 'packages'), maxBytes: 256 * 1024 * 1024 },
      catalogueSyncIntervalMs: 15 * 60_000,
      health: { intervalMs: 60_000, concurrency: 16 },
      channelKeepaliveMs: 15_000,
      runner: {
        enabled: true,
        concurrency: 8,
        pollMs: 500,
        upgradeWaitMs: 90_000,
        leaseMs: 60_000,
        callTimeoutMs: 30_000,
        maxAttempts: 3,
      },
      loginLimits: {
        perAddress: 5,
        perAccount: 50,
        perClient: 30,
        perDevice: 10,
        windowMs: 15 * 60_000,
        refusalDelayMs: 1000,
      },
      hashQueue: { concurrency: 1, queueLimit: 8 },
      trustedProxies: [],
      agentUrlAllow: [],
      // The checkout the tests run in: dist/agent in it, where `pnpm agent:package` writes.
      agentDistDir: path.resolve('dist/agent'),
      outboundAllow: [],
    };
    expect(readWebConfig({})).toEqual(defaults);
    const empty = Object.fromEntries(
      [
        'DATABASE_URL',
        'BINFLEET_DATA_DIR',
        'BINFLEET_SECRET_KEY_FILE',
        'BINFLEET_ADMIN_USERNAME',
        'BINFLEET_ADMIN_PASSWORD',
        'BINFLEET_INSECURE_COOKIES',
        'BINFLEET_SESSION_TTL_MS',
        'BINFLEET_RUNNER',
        'BINFLEET_RUNNER_CONCURRENCY',
        'BINFLEET_AGENT_URL_ALLOW',
      ].map((name) => [name, '']),
    );
    expect(readWebConfig(empty)).toEqual(defaults);
  });

  it('takes every variable', () => {
    const config = readWebConfig({
      DATABASE_URL: 'postgresql://binfleet:pw@db:5432/binfleet',
      BINFLEET_DATA_DIR: '/srv/binfleet',
      BINFLEET_SECRET_KEY_FILE: '/run/secrets/key',
      BINFLEET_ADMIN_USERNAME: 'admin',
      BINFLEET_ADMIN_PASSWORD: 'admin-password-1',
      BINFLEET_INSECURE_COOKIES: '1',
      BINFLEET_SESSION_TTL_MS: '1000',
      BINFLEET_HEARTBEAT_INTERVAL_MS: '2000',
      BINFLEET_OFFLINE_AFTER_MISSED: '4',
      BINFLEET_AUTO_HEAL_PAUSE_MS: '0',
      BINFLEET_PACKAGE_MAX_BYTES: '2147483647',
      BINFLEET_CATALOGUE_SYNC_INTERVAL_MS: '0',
      BINFLEET_HEALTH_INTERVAL_MS: '5000',
      BINFLEET_HEALTH_CONCURRENCY: '3',
      BINFLEET_CHANNEL_KEEPALIVE_MS: '2000',
      BINFLEET_RUNNER: 'off',
      BINFLEET_RUNNER_CONCURRENCY: '2',
      BINFLEET_RUNNER_POLL_MS: '50',
      BINFLEET_AGENT_UPGRADE_WAIT_MS: '4000',
      BINFLEET_RUNNER_LEASE_MS: '9000',
      BINFLEET_AGENT_CALL_TIMEOUT_MS: '4000',
      BINFLEET_JOB_MAX_ATTEMPTS: '1',
      BINFLEET_LOGIN_LIMIT_PER_ADDRESS: '6',
      BINFLEET_LOGIN_LIMIT_PER_ACCOUNT: '60',
      BINFLEET_LOGIN_LIMIT_PER_CLIENT: '40',
      BINFLEET_LOGIN_LIMIT_PER_DEVICE: '7',
      BINFLEET_LOGIN_WINDOW_MS: '60000',
      BINFLEET_LOGIN_REFUSAL_DELAY_MS: '0',
      BINFLEET_LOGIN_HASH_CONCURRENCY: '2',
      BINFLEET_LOGIN_HASH_QUEUE: '0',
      BINFLEET_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8 fd00::/8',
      BINFLEET_AGENT_URL_ALLOW: '10.0.0.0/8, fd00::/8 agent-1.lan,*.fleet.example',
      BINFLEET_PUBLIC_URL: 'https://binfleet.example.com/',
      BINFLEET_AGENT_DIST: '/srv/agent-release',
      BINFLEET_TLS_CERT: '/etc/binfleet/cert.pem',
      BINFLEET_TLS_KEY: '/etc/binfleet/key.pem',
      BINFLEET_OUTBOUND_ALLOW: '192.168.0.0/16 registry.lan',
    });
    expect(config).toEqual({
      databaseUrl: 'postgresql://binfleet:pw@db:5432/binfleet',
      dataDir: '/srv/binfleet',
      secretKeyFile: '/run/secrets/key',
      bootstrapAdmin: { username: 'admin', password: 'admin-password-1' },
      secureCookies: false,
      sessionTtlMs: 1000,
      heartbeatIntervalMs: 2000,
      offlineAfterMissed: 4,
      autoHealPauseMs: 0,
      packages: { dir: '/srv/binfleet/packages', maxBytes: 2 ** 31 - 1 },
      catalogueSyncIntervalMs: 0,
      health: { intervalMs: 5000, concurrency: 3 },
      channelKeepaliveMs: 2000,
      runner: {
        enabled: false,
        concurrency: 2,
        pollMs: 50,
        upgradeWaitMs: 4000,
        leaseMs: 9000,
        callTimeoutMs: 4000,
        maxAttempts: 1,
      },
      loginLimits: {
        perAddress: 6,
        perAccount: 60,
        perClient: 40,
        perDevice: 7,
        windowMs: 60_000,
        refusalDelayMs: 0,
      },
      hashQueue: { concurrency: 2, queueLimit: 0 },
      trustedProxies: ['127.0.0.1', '10.0.0.0/8', 'fd00::/8'],
      agentUrlAllow: ['10.0.0.0/8', 'fd00::/8', 'agent-1.lan', '*.fleet.example'],
      publicUrl: 'https://binfleet.example.com',
      agentDistDir: '/srv/agent-release',
      tls: { cert: '/etc/binfleet/cert.pem', key: '/etc/binfleet/key.pem' },
      outboundAllow: ['192.168.0.0/16', 'registry.lan'],
    });
    expect(readWebConfig({ BINFLEET_INSECURE_COOKIES: '0', BINFLEET_RUNNER: 'on' })).toMatchObject({
      secureCookies: true,
      runner: { enabled: true },
      trustedProxies: [],
    });
  });

  it.each([
    ['BINFLEET_RUNNER_CONCURRENCY', 'abc', 'a whole number >= 1'],
    [
      'BINFLEET_PUBLIC_URL',
      'http://user:pw@cp.lan',
      'an http(s) URL without credentials, query or fragment, e.g. https://binfleet.example.com',
    ],
    [
      'BINFLEET_PUBLIC_URL',
      "https://cp.lan/'$(reboot)'",
      'an http(s) URL without credentials, query or fragment, e.g. https://binfleet.example.com',
    ],
    ['BINFLEET_RUNNER_CONCURRENCY', '0', 'a whole number >= 1'],
    ['BINFLEET_SESSION_TTL_MS', '12h', 'a whole number >= 1'],
    ['BINFLEET_HEARTBEAT_INTERVAL_MS', '-1', 'a whole number >= 1'],
    ['BINFLEET_OFFLINE_AFTER_MISSED', '2.5', 'a whole number >= 1'],
    ['BINFLEET_AUTO_HEAL_PAUSE_MS', '1m', 'a whole number >= 0'],
    ['BINFLEET_PACKAGE_MAX_BYTES', '4294967296', 'a whole number from 1 to 2147483647'],
    ['BINFLEET_CATALOGUE_SYNC_INTERVAL_MS', 'never', 'a whole number >= 0'],
    ['BINFLEET_HEALTH_INTERVAL_MS', '1m', 'a whole number >= 0'],
    ['BINFLEET_HEALTH_CONCURRENCY', '0', 'a whole number >= 1'],
    ['BINFLEET_CHANNEL_KEEPALIVE_MS', '100', 'a whole number >= 200'],
    ['BINFLEET_RUNNER_POLL_MS', '0', 'a whole number >= 1'],
    ['BINFLEET_RUNNER_LEASE_MS', '1e5', 'a whole number >= 1'],
    ['BINFLEET_AGENT_CALL_TIMEOUT_MS', '30s', 'a whole number >= 1'],
    ['BINFLEET_JOB_MAX_ATTEMPTS', '0', 'a whole number >= 1'],
    ['BINFLEET_LOGIN_LIMIT_PER_ADDRESS', 'five', 'a whole number >= 1'],
    ['BINFLEET_LOGIN_LIMIT_PER_ACCOUNT', '0', 'a whole number >= 1'],
    ['BINFLEET_RUNNER', 'false', 'on or off'],
    ['BINFLEET_INSECURE_COOKIES', 'true', '0 or 1'],
    [
      'BINFLEET_TRUST_PROXY',
      '1',
      'no longer used: list the addresses of your reverse proxies in BINFLEET_TRUSTED_PROXIES instead',
    ],
    [
      'BINFLEET_TRUSTED_PROXIES',
      'proxy.lan',
      '"proxy.lan" is not an address or CIDR: give the addresses (or CIDRs) of your reverse proxies',
    ],
    ['BINFLEET_LOGIN_WINDOW_MS', '10', 'a whole number >= 1000'],
    [
      'BINFLEET_AGENT_URL_ALLOW',
      '10.0.0.0/33',
      '"10.0.0.0/33" is not a valid CIDR: give host names, addresses and CIDRs, e.g. 10.0.0.0/8, *.fleet.lan',
    ],
    [
      'DATABASE_URL',
      'mysql://db/binfleet',
      'a SQLite file (file:./data/binfleet.db) or a PostgreSQL database (postgresql://user:password@host:5432/binfleet)',
    ],
  ])('refuses %s=%j, saying what is allowed', (name, value, allowed) => {
    expect(messageOf({ [name]: value })).toBe(`${name}=${JSON.stringify(value)} is not valid: ${allowed}`);
  });

  it('names every bad variable at once, never showing a database password', () => {
    expect(
      messageOf({
        DATABASE_URL: 'mysql://root:secret@db/binfleet',
        BINFLEET_RUNNER: 'no',
        BINFLEET_RUNNER_POLL_MS: 'x',
      }),
    ).toBe(
      [
        'DATABASE_URL="mysql://root:***@db/binfleet" is not valid: a SQLite file (file:./data/binfleet.db) or a PostgreSQL database (postgresql://user:password@host:5432/binfleet)',
        'BINFLEET_RUNNER="no" is not valid: on or off',
        'BINFLEET_RUNNER_POLL_MS="x" is not valid: a whole number >= 1',
      ].join('\n'),
    );
  });

  it('wants the first admin whole: user name and password together', () => {
    expect(messageOf({ BINFLEET_ADMIN_USERNAME: 'admin' })).toBe(
      'BINFLEET_ADMIN_PASSWORD is not set: set it with BINFLEET_ADMIN_USERNAME (the first admin), or set neither',
    );
    expect(messageOf({ BINFLEET_ADMIN_PASSWORD: 'admin-password-1' })).toBe(
      'BINFLEET_ADMIN_USERNAME is not set: set it with BINFLEET_ADMIN_PASSWORD (the first admin), or set neither',
    );
  });
});

import { appRouter } from '../routers/index.ts';

/**
 * Who may call each procedure of the control plane's API, and a valid-shaped input for probing it.
 * The security tests walk `appRouter`'s procedures and fail when one has no row here (or a row has no
 * procedure), then call every procedure over HTTP as each caller below its role; docs/security.md
 * shows this table, rendered by `renderAccessTable()` (a unit test keeps the two equal).
 *
 * - `public`: anyone (sign-in, first-run setup, who am I);
 * - `join token`: anyone holding a valid join token (the token is part of the input);
 * - `agent`: a joined agent's heartbeat credential as `Authorization: Bearer`;
 * - `viewer` < `operator` < `admin`: a signed-in user with at least that role, and on mutations the
 *   session's CSRF secret in the `x-binfleet-csrf` header.
 */
export type MinimumRole = 'public' | 'join token' | 'agent' | 'viewer' | 'operator' | 'admin';

/** Rows the probes aim at, so that a call that got through would change something real. */
export interface ProbeIds {
  readonly hostId: string;
  readonly operatorId: string;
  readonly joinTokenId: string;
  readonly registryId: string;
  readonly repositoryId: string;
}

export interface AccessRow {
  readonly role: MinimumRole;
  /** What a caller below the role tries (valid-shaped, aimed at real rows). */
  readonly input?: (ids: ProbeIds) => unknown;
  readonly note?: string;
}

export const ACCESS: Record<string, AccessRow> = {
  'auth.me': { role: 'public', note: 'the CSRF secret only with a session' },
  'auth.setup': {
    role: 'public',
    input: () => ({ username: 'mallory', password: 'mallory-password-1' }),
    note: 'only while no user exists; CSRF header required',
  },
  'auth.login': {
    role: 'public',
    input: () => ({ username: 'admin', password: 'wrong-password-1' }),
    note: 'rate limited per account and client address; CSRF header required',
  },
  'auth.logout': { role: 'viewer' },
  'auth.users': { role: 'admin' },
  'auth.createUser': {
    role: 'admin',
    input: () => ({ username: 'mallory', password: 'mallory-password-1', role: 'admin' }),
  },
  'auth.updateUser': { role: 'admin', input: (ids) => ({ id: ids.operatorId, role: 'admin' }) },

  'fleet.hosts': { role: 'viewer', input: () => ({}) },
  'fleet.hostIds': { role: 'viewer', input: () => ({ filter: {} }) },
  'fleet.summary': { role: 'viewer' },
  'fleet.coverage': { role: 'viewer' },
  'fleet.drift': { role: 'viewer' },
  'fleet.host': { role: 'viewer', input: (ids) => ({ id: ids.hostId }) },
  'fleet.targets': { role: 'viewer' },
  'fleet.setGroup': { role: 'operator', input: (ids) => ({ hostIds: [ids.hostId], group: 'pwned' }) },
  'fleet.removeHost': { role: 'admin', input: (ids) => ({ id: ids.hostId }) },
  'fleet.rotateCredential': {
    role: 'admin',
    input: (ids) => ({ id: ids.hostId }),
    note: "the new pair reaches the host's agent only in its heartbeat answer",
  },

  'jobs.create': {
    role: 'operator',
    input: () => ({ params: { kind: 'remove', all: true }, selection: { all: true } }),
  },
  'jobs.upgradeAgent': {
    role: 'admin',
    input: (ids) => ({ selection: { hostIds: [ids.hostId] } }),
    note: 'the upgrade agent job; jobs.create refuses that kind',
  },
  'jobs.cancel': { role: 'operator', input: () => ({ id: 'probe' }) },
  'jobs.list': { role: 'viewer', input: () => ({}) },
  'jobs.get': { role: 'viewer', input: () => ({ id: 'probe' }) },
  'jobs.watch': { role: 'viewer', input: () => ({ id: 'probe' }), note: 'server-sent events' },

  'plans.preview': {
    role: 'operator',
    input: (ids) => ({ kind: 'action', params: { kind: 'remove', all: true }, hostIds: [ids.hostId] }),
    note: 'a dry run: changes nothing (a POST only because host lists outgrow a URL)',
  },

  'policy.list': { role: 'viewer' },
  'policy.lintContext': { role: 'viewer' },
  'policy.set': {
    role: 'admin',
    input: () => ({
      groupName: null,
      targets: ['s390x'],
      flags: '',
      interpreterDir: '/tmp',
      suffix: '',
      autoHeal: true,
    }),
  },
  'policy.remove': { role: 'admin', input: () => ({ groupName: null }) },

  'tokens.list': { role: 'admin' },
  'tokens.create': {
    role: 'admin',
    input: () => ({ label: 'mallory', expiresInHours: 1, maxUses: null }),
  },
  'tokens.revoke': { role: 'admin', input: (ids) => ({ id: ids.joinTokenId }) },
  'install.createCode': {
    role: 'admin',
    input: () => ({ label: 'mallory', expiresInMinutes: 15, browserOrigin: 'http://127.0.0.1:3000' }),
  },
  'settings.publicUrl': { role: 'admin' },
  'settings.setPublicUrl': { role: 'admin', input: () => ({ url: 'http://mallory.example' }) },

  'audit.list': { role: 'viewer', input: () => ({}) },
  'audit.archive': {
    role: 'admin',
    input: () => ({ before: new Date('2000-01-01T00:00:00Z') }),
    note: 'archives to a file, then deletes through the database gate; audited',
  },

  'agentApi.join': {
    role: 'join token',
    input: () => ({
      joinToken: 'bfj_not-a-join-token-0123456789abcdefghijklmnopqrstu',
      agentId: 'mallory-agent-0001',
      agentUrl: 'http://127.0.0.1:9',
      hostname: 'mallory',
      facts: {},
      entries: [],
    }),
  },
  'agentApi.heartbeat': {
    role: 'agent',
    input: () => ({ hostname: 'mallory', facts: {}, entries: [] }),
  },
  'agentApi.callResult': {
    role: 'agent',
    input: () => ({ callId: 'mallory-call', attempt: 1, outcome: { ok: true, output: null } }),
    note: "taken only for a call of the agent's own host and current attempt; else refused and audited",
  },

  'registries.list': { role: 'viewer' },
  'registries.create': {
    role: 'admin',
    input: () => ({ url: 'http://127.0.0.1:9', username: null, password: null }),
  },
  'registries.update': { role: 'admin', input: (ids) => ({ id: ids.registryId, url: 'http://127.0.0.1:9' }) },
  'registries.remove': { role: 'admin', input: (ids) => ({ id: ids.registryId }) },
  'registries.addRepository': {
    role: 'admin',
    input: (ids) => ({ registryId: ids.registryId, name: 'mallory/qemu' }),
  },
  'registries.removeRepository': { role: 'admin', input: (ids) => ({ id: ids.repositoryId }) },

  'catalogue.sync': { role: 'operator', input: (ids) => ({ repositoryId: ids.repositoryId }) },
  'catalogue.versions': { role: 'viewer', input: (ids) => ({ repositoryId: ids.repositoryId }) },
  'catalogue.browse': { role: 'viewer', input: (ids) => ({ repositoryId: ids.repositoryId }) },
  'catalogue.repoint': { role: 'admin', input: () => ({ buildId: 'probe' }) },
  'catalogue.compare': {
    role: 'viewer',
    input: (ids) => ({ repositoryId: ids.repositoryId, a: '1.0', b: '2.0' }),
  },

  'builds.start': {
    role: 'admin',
    input: (ids) => ({
      hostId: ids.hostId,
      repositoryId: ids.repositoryId,
      packagePath: '/srv/packages/qemu.deb',
    }),
  },
  'builds.rerun': { role: 'admin', input: () => ({ id: 'probe' }) },
  'builds.cancel': { role: 'admin', input: () => ({ id: 'probe' }) },
  'builds.list': { role: 'viewer', input: () => ({}) },
  'builds.get': { role: 'viewer', input: () => ({ id: 'probe' }) },
  'builds.builders': { role: 'viewer' },
  'builds.packages': { role: 'viewer' },
  'builds.deletePackage': {
    role: 'admin',
    input: () => ({ id: 'probe' }),
    note: 'refused while a queued or running build uses the package',
  },
  'builds.watch': { role: 'viewer', input: () => ({ id: 'probe' }), note: 'server-sent events' },
};

/**
 * HTTP routes outside tRPC, with the same checks as an admin mutation (session cookie, role, CSRF
 * header). The probes call each the same way; the table shows them after the procedures.
 */
export const HTTP_ROUTES: Record<string, AccessRow> = {
  'POST /api/packages': { role: 'admin', note: 'package upload (raw body), outside tRPC' },
};

export type ProcedureType = 'query' | 'mutation' | 'subscription';

/** Every procedure of the control plane's router, by dotted path. */
export function procedureTypes(): Record<string, ProcedureType> {
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: ProcedureType } }
  >;
  return Object.fromEntries(Object.entries(procedures).map(([path, p]) => [path, p._def.type]));
}

const REFUSED: Record<MinimumRole, string> = {
  public: '-',
  'join token': 'unknown, expired, used-up or revoked token: 401',
  agent: 'no or unknown credential (a user session is none): 401',
  viewer: 'no session: 401',
  operator: 'no session: 401; viewer: 403',
  admin: 'no session: 401; viewer, operator: 403',
};

/** The table as docs/security.md shows it. */
export function renderAccessTable(): string {
  const types = procedureTypes();
  const rows = Object.keys(ACCESS)
    .sort()
    .map((path) => {
      const row = ACCESS[path]!;
      const type = types[path] ?? '?';
      const refused =
        type === 'mutation' && ['viewer', 'operator', 'admin'].includes(row.role)
          ? `${REFUSED[row.role]}; no CSRF header: 403`
          : REFUSED[row.role];
      return `| \`${path}\` | ${type} | ${row.role} | ${refused} | ${row.note ?? ''} |`;
    });
  const routes = Object.entries(HTTP_ROUTES).map(
    ([route, row]) =>
      `| \`${route}\` | http | ${row.role} | ${REFUSED[row.role]}; no CSRF header: 403 | ${row.note ?? ''} |`,
  );
  return [
    '| procedure | kind | minimum role | refused |  |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    ...routes,
  ].join('\n');
}

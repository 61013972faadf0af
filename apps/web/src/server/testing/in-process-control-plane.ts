import { createDb, type Db } from '@binfleet/db';
import { readWebConfig, type WebConfig } from '../env.ts';
import { appRouter } from '../routers/index.ts';
import type { Actor } from '../services/audit.ts';
import { createControlPlane, type ControlPlane } from '../services/control-plane.ts';
import { Cleanup, prepareFixture, TEST_ADMIN, type FixtureOptions, type TestUser } from './fixture.ts';

/** What a signed-in browser session can call, without HTTP. */
export type Caller = ReturnType<typeof appRouter.createCaller>;

export interface InProcessOptions extends FixtureOptions {
  /** More configuration, as environment variables; the job runner is off unless BINFLEET_RUNNER says so. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The control plane in the test's own process, on a throwaway database (SQLite or PostgreSQL), with
 * the admin set up and signed in: for tests of services and procedures that need no agent and no
 * HTTP (fleet.ts starts it as a process of its own, with agents).
 */
export interface InProcessControlPlane {
  readonly cp: ControlPlane;
  readonly config: WebConfig;
  readonly db: Db;
  readonly databaseUrl: string;
  readonly dataDir: string;
  /** The admin, as services take who acts. */
  readonly actor: Actor;
  /** The tRPC procedures as the admin calls them. */
  readonly admin: Caller;
  /** A session of `user` on `on` (default: cp). */
  callerFor(user: TestUser, on?: ControlPlane): Promise<Caller>;
  /** Another replica on the same database: a control plane and database client of its own. */
  addReplica(): { cp: ControlPlane; db: Db };
  /** Database clients, database (when new) and folder. Idempotent. */
  stop(): Promise<void>;
}

export async function startInProcessControlPlane(options: InProcessOptions): Promise<InProcessControlPlane> {
  const cleanup = new Cleanup();
  try {
    const { dataDir, databaseUrl, db } = await prepareFixture(options, cleanup);
    const config = readWebConfig({
      DATABASE_URL: databaseUrl,
      BINFLEET_DATA_DIR: dataDir,
      BINFLEET_RUNNER: 'off',
      ...options.env,
    });
    const cp = createControlPlane(config, { db });
    const callerFor = async (user: TestUser, on = cp) => {
      const { token } = await on.auth.login(user.username, user.password);
      const session = await on.auth.authenticate(token);
      return appRouter.createCaller({
        cp: on,
        session,
        sessionToken: token,
        bearer: undefined,
        csrf: session!.csrfSecret,
        resHeaders: new Headers(),
        reads: {},
      });
    };
    await cp.auth.setup(TEST_ADMIN.username, TEST_ADMIN.password);
    const { user } = await cp.auth.login(TEST_ADMIN.username, TEST_ADMIN.password);
    for (const more of options.users ?? []) await cp.auth.createUser(user, more);
    return {
      cp,
      config,
      db,
      databaseUrl,
      dataDir,
      actor: { id: user.id, name: user.username },
      admin: await callerFor(TEST_ADMIN),
      callerFor,
      addReplica() {
        const replicaDb = createDb(databaseUrl);
        cleanup.add(() => replicaDb.$disconnect());
        return { cp: createControlPlane(config, { db: replicaDb }), db: replicaDb };
      },
      stop: () => cleanup.run(),
    };
  } catch (error) {
    // What failed to start says why; a failure to stop what had started would hide it.
    await cleanup.run().catch(() => undefined);
    throw error;
  }
}

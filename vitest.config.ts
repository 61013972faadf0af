import { defineConfig } from 'vitest/config';

/**
 * Integration test files that change what other files use: the machine's own binfmt_misc (which
 * dockerd's containers use), dockerd (its images, containers and restarts), the PostgreSQL server
 * (restarted), or the agent's dist/ that every file starts agents from (`pnpm agent:package` builds
 * it again). They run one at a time, after every other integration file and never beside one. A new
 * file that does any of this belongs here. The rest keep to their own sandboxes, networks, databases
 * and ports, and run two at a time; their agents may read from dockerd (facts, a verify's container
 * check), which nothing restarts meanwhile.
 */
const ONE_AT_A_TIME = [
  // dockerd, and the machine's binfmt_misc through it
  'apps/agent/src/adapters/dockerode-client.integration.test.ts',
  'apps/agent/src/cli/build-command.integration.test.ts',
  'apps/agent/src/image-build/image-build-service.integration.test.ts',
  'apps/agent/src/server/agent-docker.integration.test.ts',
  'apps/agent/src/services/verify-service.integration.test.ts',
  'apps/web/src/server/builds.integration.test.ts',
  'apps/web/src/server/catalogue.integration.test.ts',
  // dockerd and PostgreSQL restarted
  'apps/web/src/server/faults.integration.test.ts',
  // the machine's binfmt_misc mounted when it is not (and unmounted again)
  'packages/test-sandbox/src/sandbox.integration.test.ts',
  // the agent's release (ensureAgentRelease), which builds its dist/ again
  'apps/agent/packaging/deb.integration.test.ts',
  'apps/agent/packaging/launcher.integration.test.ts',
  'apps/agent/packaging/tarball.integration.test.ts',
  'apps/web/src/server/agent-image.integration.test.ts',
  'apps/web/src/server/agent-install.integration.test.ts',
  'apps/web/src/server/agent-upgrade.integration.test.ts',
];

const INTEGRATION = [
  'packages/*/src/**/*.integration.test.ts',
  'apps/*/src/**/*.integration.test.ts',
  'apps/agent/packaging/**/*.integration.test.ts',
];

// One root config: fast unit tests beside the code, and integration tests against the real kernel
// binfmt_misc (sandboxed), qemu, dockerd and the registry, in two projects (`--project 'integration*'`
// runs both): `integration-parallel`, two files at a time, then `integration-serial`, one at a
// time. What the files build when it is stale (the agent's bundle and release, the web build) is
// built under a lock (underBuildLock): once, by whichever file needs it first.
const integration = {
  // Each file must leave the machine's binfmt_misc as it found it (dockerd's containers use it).
  setupFiles: ['packages/test-sandbox/src/machine-binfmt-guard.ts'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          ...integration,
          name: 'integration-parallel',
          include: INTEGRATION,
          exclude: [...ONE_AT_A_TIME, '**/node_modules/**'],
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...integration,
          name: 'integration-serial',
          include: ONE_AT_A_TIME,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});

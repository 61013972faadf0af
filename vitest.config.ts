import { defineConfig } from 'vitest/config';

// One root config: fast unit tests beside the code, and integration tests against the real kernel
// binfmt_misc (sandboxed), qemu, dockerd and the registry. Integration tests run one file at a time
// because some of them change machine-wide state (dockerd uses the machine's own binfmt_misc).
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
          name: 'integration',
          include: [
            'packages/*/src/**/*.integration.test.ts',
            'apps/*/src/**/*.integration.test.ts',
            'apps/agent/packaging/**/*.integration.test.ts',
          ],
          fileParallelism: false,
          // Each file must leave the machine's binfmt_misc as it found it (dockerd's containers use it).
          setupFiles: ['packages/test-sandbox/src/machine-binfmt-guard.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

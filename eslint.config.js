import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.next/**', 'e2e/output/**', '**/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain JavaScript entry points (bin shims) run on Node; TypeScript files get this from the compiler.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // Apps are peers over packages: the web app never imports the agent app, nor the reverse.
    files: ['apps/web/**/*.{ts,tsx,js,mjs}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@binfleet/agent(/|$)|^(\\.\\./)+agent/(src|bin|scripts)(/|$)',
              message:
                'apps/web never imports the agent app: put what both need in a package under packages/ (and import it from there in both apps).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/agent/**/*.{ts,js,mjs}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@binfleet/web(/|$)|^(\\.\\./)+web/(src|scripts)(/|$)',
              message:
                'apps/agent never imports the web app: put what both need in a package under packages/ (and import it from there in both apps).',
            },
          ],
        },
      ],
    },
  },
  {
    // Client code (and shared/, which it loads) never loads a server module at run time: it would bundle
    // server code for the browser. Types are fine. Route handlers (route.ts) are server code.
    files: [
      'apps/web/src/components/**/*.{ts,tsx}',
      'apps/web/src/app/**/*.tsx',
      'apps/web/src/shared/**/*.{ts,tsx}',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^~/server(/|$)|^(\\.\\./)+server(/|$)',
              allowTypeImports: true,
              message:
                'Client code imports no server module at run time (`import type` is fine): move what both sides need to apps/web/src/shared/ and import it from there on both sides.',
            },
            {
              regex: '^@binfleet/(db|deb|env)(/|$)',
              allowTypeImports: true,
              message:
                'Client code loads no Node-only package at run time (`import type` is fine): the browser cannot run it; ask the server through tRPC.',
            },
          ],
        },
      ],
    },
  },
  {
    // One gateway to agents: only server/agents/ holds the client that calls them (a second way to call
    // an agent would skip its outbound rules and its error translator).
    files: ['apps/web/src/server/**/*.ts'],
    ignores: ['apps/web/src/server/agents/**', '**/*.test.ts', 'apps/web/src/server/testing/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@trpc/client(/|$)',
              message:
                'The control plane calls agents only through server/agents/ (AgentGateway): add the call to its connection there.',
            },
          ],
        },
      ],
    },
  },
  {
    // The agent has one file that talks to dockerd (adapters/dockerode-client.ts, behind DockerClient):
    // a second one would skip its error translation and its timeouts.
    files: ['apps/agent/src/**/*.ts'],
    ignores: ['apps/agent/src/adapters/dockerode-client.ts', '**/*.test.ts', '**/testing/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^dockerode(/|$)',
              allowTypeImports: true,
              message:
                'Only adapters/dockerode-client.ts imports dockerode: add what you need to the DockerClient interface (adapters/docker-client.ts) and its implementation there.',
            },
          ],
        },
      ],
    },
  },
  {
    // Configuration is read once, at start, through each app's (or package's) env.ts: a zod schema that
    // refuses a bad value by name. Tests, test helpers, scripts, benches and tool configs read freely.
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.mjs'],
    ignores: [
      '**/env.ts',
      '**/*.test.ts',
      '**/testing/**',
      'packages/db/src/testing.ts',
      'packages/test-sandbox/**',
      'scripts/**',
      'apps/*/scripts/**',
      'apps/agent/packaging/**',
      'packages/*/scripts/**',
      'bench/**',
      'e2e/**',
      '**/next.config.ts',
      'prisma.config.ts',
      '**/playwright.config.ts',
      'vitest.config.ts',
    ],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            "Read configuration through the app's env.ts (add the variable to its schema, with its default and what is allowed), and pass it in.",
        },
      ],
    },
  },
  {
    // arch-table is pure: no I/O, no dependencies.
    files: ['packages/arch-table/src/**/*.ts'],
    ignores: ['packages/arch-table/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^[^.]', message: 'arch-table is pure: it imports nothing but its own files.' },
          ],
        },
      ],
    },
  },
  {
    // The wire contract is schemas only: no I/O, nothing but zod and the arch table.
    files: ['packages/agent-contract/src/**/*.ts'],
    ignores: ['packages/agent-contract/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!zod$|zod/mini$|@binfleet/arch-table$|\\.)',
              message:
                'agent-contract holds schemas only: it imports zod (or zod/mini), @binfleet/arch-table and its own files.',
            },
          ],
        },
      ],
    },
  },
  {
    // No production source file over 500 lines: a file holds one job, and past ~400 lines it is time
    // to cut it along the seam it already has. Tests, test helpers and scripts aside.
    files: ['apps/**/src/**/*.{ts,tsx}', 'packages/*/src/**/*.ts'],
    ignores: [
      '**/*.test.ts',
      '**/*.integration.test.ts',
      '**/testing/**',
      'packages/test-sandbox/**',
      '**/scripts/**',
    ],
    rules: {
      'max-lines': ['error', { max: 500, skipBlankLines: false, skipComments: false }],
    },
  },
);

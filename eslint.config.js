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
);

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
              regex: '^(?!zod$|@binfleet/arch-table$|\\.)',
              message:
                'agent-contract holds schemas only: it imports zod, @binfleet/arch-table and its own files.',
            },
          ],
        },
      ],
    },
  },
);

// ESLint flat config. The workflow rule mirrors Temporal's samples: workflow code runs in a
// deterministic sandbox, so Node built-ins must never be imported from workflows/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]).filter((m) => m !== 'assert');

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.state/**', 'build/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code runs in the Temporal sandbox: no Node built-ins.',
          })),
          patterns: [
            {
              // Types are fine (they vanish at build time); code from activities/ or lib/ is not.
              group: ['**/activities', '**/activities/*', '**/lib/*', '**/lib/**'],
              message: 'Workflows reach lib/ only through activities.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['emulator/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/lib/amt', '**/lib/amt/**'],
              message: 'The emulator shares no protocol code with the AMT client.',
            },
            {
              // Firmware rules (passwords, user names, certificate chains) are the emulator's own
              // reading: sharing amtflow's validators would make a wrong rule pass its own test.
              group: [
                '**/lib/crypto',
                '**/lib/crypto/**',
                '**/lib/store',
                '**/lib/store/**',
                '**/lib/pki',
                '**/lib/pki/**',
              ],
              message: 'The emulator applies firmware rules from its own reading, never with amtflow validators.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/emulator/**'],
              message: 'amtflow shares no protocol code or firmware rule with the emulator.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);

// ESLint flat config. Besides the language rules, it holds the layers of docs/architecture.md, so a
// wrong import fails the build instead of waiting for a review: workflow code runs in Temporal's
// deterministic sandbox (no Node built-ins, nothing from lib/ or activities/ but types); lib/ knows
// nothing of Temporal nor of any layer above it; front doors do not import one another; only tests
// and scripts import scripts/ and tests/ (bench/, which starts servers with the scripts, imports
// scripts/ but not tests/); the emulator and the AMT client share no protocol code.
// tests/unit/lint/layers.test.ts proves each rule fails on a deliberate violation.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]).filter((m) => m !== 'assert');

/** Import patterns (gitignore syntax, matched against the import string) with the reason they are refused. */
const refuse = (message, ...folders) => ({
  group: folders.flatMap((folder) => [`**/${folder}`, `**/${folder}/**`]),
  message,
});

const SCRIPTS_AND_TESTS = refuse('Only tests and scripts import scripts/ and tests/.', 'scripts', 'tests');
const ABOVE_LIB = refuse(
  'lib/ is the domain layer: it imports nothing above it (activities, workflows, workers, runtime, front doors, bench).',
  'activities',
  'workflows',
  'workers',
  'runtime',
  'api',
  'cli',
  'bench',
);
const TEMPORAL = {
  group: ['@temporalio/*'],
  message: 'lib/ knows nothing of Temporal: that is what activities/ are for.',
};
const FRONT_DOORS = (self) =>
  refuse(
    `${self}/ is a front door: front doors share code through runtime/, never import each other or the worker.`,
    ...['api', 'cli', 'workers'].filter((folder) => folder !== self),
  );

/** One entry per folder: flat config keeps only the last `no-restricted-imports` a file matches. */
const layer = (files, { paths = [], patterns = [] }) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { paths, patterns: [...patterns, SCRIPTS_AND_TESTS] }] },
});

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
  layer(['lib/**/*.ts'], {
    patterns: [
      TEMPORAL,
      ABOVE_LIB,
      { group: ['**/emulator/**'], message: 'amtflow shares no protocol code or firmware rule with the emulator.' },
    ],
  }),
  layer(['workflows/**/*.ts'], {
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
      refuse(
        'Workflows know no process: workers, runtime and front doors import them.',
        'workers',
        'runtime',
        'api',
        'cli',
      ),
    ],
  }),
  layer(['activities/**/*.ts'], {
    patterns: [
      refuse(
        'Activities sit below workflows: they import lib/, nothing above.',
        'workflows',
        'workers',
        'runtime',
        'api',
        'cli',
      ),
    ],
  }),
  layer(['runtime/**/*.ts'], {
    patterns: [refuse('runtime/ is shared by the processes; it imports none of them.', 'api', 'cli', 'workers')],
  }),
  layer(['workers/**/*.ts'], { patterns: [FRONT_DOORS('workers')] }),
  layer(['api/**/*.ts'], { patterns: [FRONT_DOORS('api')] }),
  layer(['cli/**/*.ts'], { patterns: [FRONT_DOORS('cli')] }),
  // The benchmark starts the servers with the project's own scripts, as a script would; tests/ stay out.
  {
    files: ['bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [refuse('Only tests and scripts import tests/.', 'tests')] }],
    },
  },
  layer(['emulator/**/*.ts'], {
    patterns: [
      {
        group: ['**/lib/amt', '**/lib/amt/**'],
        message: 'The emulator shares no protocol code with the AMT client.',
      },
      {
        // Firmware rules (passwords, user names, certificate chains) are the emulator's own
        // reading: sharing amtflow's validators would make a wrong rule pass its own test.
        group: ['**/lib/crypto', '**/lib/crypto/**', '**/lib/store', '**/lib/store/**', '**/lib/pki', '**/lib/pki/**'],
        message: 'The emulator applies firmware rules from its own reading, never with amtflow validators.',
      },
    ],
  }),
  // no-restricted-imports sees static imports only: a dynamic import() or a require() would walk
  // past every layer above. Production code imports statically (a local function that happens to
  // be called `require`, like the store's, takes no string literal and is not matched).
  {
    files: ['{lib,activities,workflows,workers,runtime,api,cli,emulator}/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: 'Import statically, so the layer rules can see it.' },
        {
          selector: "CallExpression[callee.name='require'][arguments.0.type='Literal']",
          message: 'Import statically, so the layer rules can see it.',
        },
      ],
    },
  },
  {
    files: ['bench/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/(^|\\/)tests(\\/|$)/]',
          message: 'Only tests and scripts import tests/.',
        },
      ],
    },
  },
  prettier,
);

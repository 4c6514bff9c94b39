// Three projects: unit tests need nothing running; integration tests run against the real
// Temporal dev server, PostgreSQL and the Samba DC that tests/integration/global-setup.ts brings up.
// `npm test` (scripts/test.sh) runs `unit` and `integration` two files at a time, then
// `integration-alone` one file at a time: those files cannot share the servers with another file.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] };

/** Integration files that run with no other file beside them, and why. */
const ALONE = [
  // Stops the shared Samba DC for a while (a directory outage).
  'tests/integration/chaos/chaos.test.ts',
  // Prove "nothing was written" by the DC's highestCommittedUSN, which any other file's write moves.
  'tests/integration/directory/directory.test.ts',
  'tests/integration/lifecycle/validation.test.ts',
  'tests/integration/activities/infrastructure.test.ts',
  'tests/integration/activities/validation.test.ts',
  // Starts a second DC on the test DC's address.
  'tests/integration/directory/samba-dc.test.ts',
  // Share one port base and a second DC address among themselves (start/support.ts).
  'tests/integration/start/',
  // Run the production worker (workers/main.ts) on the production task queue of the shared
  // Temporal server: two of them would take each other's tasks into the wrong site database.
  'tests/integration/lifecycle/worker-crash.test.ts',
  'tests/integration/api/front-door-process.test.ts',
  // temporal-server on PostgreSQL holds up to 30 connections per service of the server's 100.
  'tests/integration/cluster/cluster.test.ts',
];
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const alonePattern = `<rootDir>/(${ALONE.map(escape).join('|')})`;

const integration = {
  testEnvironment: 'node',
  transform,
  globalSetup: '<rootDir>/tests/integration/global-setup.ts',
  setupFiles: ['<rootDir>/tests/setup-integration.ts'],
  globalTeardown: '<rootDir>/tests/integration/global-teardown.ts',
  slowTestThreshold: 60,
  // Real servers: a test may wait on retries with backoff; conditions carry their own deadlines.
  setupFilesAfterEnv: ['<rootDir>/tests/setup-integration-timeout.ts'],
};

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/tests/unit/**/*.test.ts'],
    },
    {
      ...integration,
      displayName: 'integration',
      testMatch: ['<rootDir>/tests/integration/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', alonePattern],
    },
    {
      ...integration,
      displayName: 'integration-alone',
      testMatch: ALONE.map((p) => `<rootDir>/${p}${p.endsWith('/') ? '**/*.test.ts' : ''}`),
    },
  ],
};

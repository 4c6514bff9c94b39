// Two projects: unit tests need nothing running; integration tests run against the real
// Temporal dev server, PostgreSQL and the Samba DC that tests/integration/global-setup.ts brings up.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] };

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/tests/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/tests/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/tests/integration/global-setup.ts',
      setupFiles: ['<rootDir>/tests/setup-integration.ts'],
      globalTeardown: '<rootDir>/tests/integration/global-teardown.ts',
      slowTestThreshold: 60,
      // Real servers: a test may wait on retries with backoff; conditions carry their own deadlines.
      setupFilesAfterEnv: ['<rootDir>/tests/setup-integration-timeout.ts'],
    },
  ],
};

/**
 * Provisioning steps that compose the AMT client with the CA and the settings profiles (spec I2,
 * I6, OOB9): what an activity, or the benchmark's no-Temporal baseline, calls with a session.
 */
export * from './amt-version';
export * from './certificates';
export * from './device-session';
export * from './errors';
export * from './profile';
export * from './removal';
export * from './renewal';
export * from './stage-one';
export * from './stage-two';

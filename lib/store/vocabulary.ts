/**
 * The closed sets of values of the core tables. Each list mirrors a check constraint in
 * migrations/0002_core.sql; the repositories validate against them so a bad value fails with a
 * typed error naming the field rather than a constraint violation.
 */

/** AMT status of spec OPS1: Unknown, Not Supported, Detected, Not Provisioned, Provisioned, Externally Provisioned. */
export const DISCOVERY_STATUSES = [
  'unknown',
  'not_supported',
  'detected',
  'not_provisioned',
  'provisioned',
  'externally_provisioned',
] as const;
export type DiscoveryStatus = (typeof DISCOVERY_STATUSES)[number];

/** Where amtflow's own lifecycle stands for a device; the step reached is `provisioning_stage`. */
export const PROVISIONING_STATES = [
  'unprovisioned',
  'provisioning',
  'provisioned',
  'updating',
  'removing',
  'failed',
] as const;
export type ProvisioningState = (typeof PROVISIONING_STATES)[number];

/** Secrets amtflow sets per device: the AMT remote admin, the MEBx, the directory (AMT) account. */
export const CREDENTIAL_KINDS = ['amt_admin', 'mebx', 'directory_account'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export const CREDENTIAL_STATUSES = ['pending', 'current', 'retired', 'discarded'] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

export const DIRECTORY_OBJECT_STATUSES = ['pending', 'published', 'deleted'] as const;
export type DirectoryObjectStatus = (typeof DIRECTORY_OBJECT_STATUSES)[number];

/** OTP hash algorithms and the length of their digests in hex characters. */
export const OTP_ALGORITHMS = { sha1: 40, sha256: 64, sha384: 96, sha512: 128 } as const;
export type OtpAlgorithm = keyof typeof OTP_ALGORITHMS;

/** Mirrors provisioning_results.operation (0002_core.sql, widened by 0008 and 0010). */
export const LIFECYCLE_OPERATIONS = [
  'provision',
  'update',
  'remove',
  'rename_or_move',
  'renew_certificate',
  'rotate_password',
  'forget',
] as const;
export type LifecycleOperation = (typeof LIFECYCLE_OPERATIONS)[number];

export const RESULT_OUTCOMES = ['succeeded', 'failed', 'aborted'] as const;
export type ResultOutcome = (typeof RESULT_OUTCOMES)[number];

/**
 * Per-device outcome of a collection action (0008_collection_actions.sql, widened by 0012):
 * `waiting` is a device whose run parked for an operator, which the action stopped waiting for.
 */
export const ACTION_RESULT_STATUSES = ['started', 'busy', 'refused', 'succeeded', 'failed', 'waiting'] as const;
export type ActionResultStatus = (typeof ACTION_RESULT_STATUSES)[number];
/** The longest error code and message a collection action's result row takes (the action clips to them). */
export const ACTION_RESULT_LIMITS = { errorCode: 100, errorMessage: 2000 } as const;

/** Why a device is forgotten (0010_forgotten_devices.sql): it is gone, its firmware out of reach. */
export const FORGET_REASONS = ['scrapped', 'stolen', 'lost', 'replaced'] as const;
export type ForgetReason = (typeof FORGET_REASONS)[number];

import { FinalError, TypedError } from '../errors';

/** Stable codes of the errors provisioning steps raise themselves; each needs a record, the settings or the firmware changed first. */
export type ProvisioningErrorCode =
  /** No hello, agent report or operator entry has left an address for the device yet. */
  | 'DEVICE_NOT_REACHABLE_ADDRESS'
  /** P2: the firmware is older than the oldest AMT release amtflow provisions. */
  | 'AMT_VERSION_UNSUPPORTED'
  /** The firmware reached reports another platform UUID than the run's device (issue 9). */
  | 'DEVICE_IDENTITY_MISMATCH'
  /** Two addresses claim the device's UUID while its run is in flight; an operator decides which is it (issue 9). */
  | 'DUPLICATE_UUID'
  /** IB5: the firmware holds no one-time password, or no agent reported one for the device. */
  | 'OTP_NOT_REPORTED'
  /** IB5: the firmware's one-time password is not the one the agent reported. */
  | 'OTP_MISMATCH'
  /** A Kerberos account of the profile has no SID among those resolved in the directory (I8). */
  | 'PRINCIPAL_NOT_FOUND'
  /** The firmware does not offer the profile's power package (OOB9.3). */
  | 'POWER_PACKAGE_UNAVAILABLE'
  /** The device's Wi-Fi module lacks a wireless profile's authentication or encryption method (OOB9.4). */
  | 'WIRELESS_PROFILE_UNSUPPORTED'
  /** Renewal: the certificate named is not an AMT web-server certificate of the device. */
  | 'CERTIFICATE_NOT_FOR_DEVICE'
  /** Renewal: the device committed the new TLS credential context but still serves another certificate. */
  | 'TLS_CERTIFICATE_NOT_SERVED';

/** A device or settings profile a step cannot work with as it stands; retrying the same call changes nothing. */
export class ProvisioningError extends FinalError<ProvisioningErrorCode> {
  override readonly name = 'ProvisioningError';
}

/**
 * A stage-two setting the firmware answered success for but does not hold when read back (a lost
 * NVRAM write, a reboot between the write and its persistence). Retryable: the step puts the
 * settings whole again, and once its attempts are spent it waits for an operator — never a run that
 * reports a setting the device does not have. The message names fields and non-secret values only.
 */
export class SettingNotKeptError extends TypedError<'SETTING_NOT_KEPT'> {
  override readonly name = 'SettingNotKeptError';

  constructor(setting: string, mismatches: readonly string[]) {
    super(
      'SETTING_NOT_KEPT',
      `the firmware answered success but does not hold ${setting} when read back: ${mismatches.join('; ')}`,
      true,
    );
  }
}

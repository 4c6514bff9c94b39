import { FinalError } from '../errors';

/** Stable codes of the errors provisioning steps raise themselves; each needs a record, the settings or the firmware changed first. */
export type ProvisioningErrorCode =
  /** No hello, agent report or operator entry has left an address for the device yet. */
  | 'DEVICE_NOT_REACHABLE_ADDRESS'
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

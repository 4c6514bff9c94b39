/**
 * What the lifecycle workflows ask of the outside world: every activity's name, input and result.
 * Inputs and results are secret-free — ids, versions, serials, credential references — because
 * they are stored in Temporal's history. Activities resolve secrets through lib/store themselves.
 */

import type { AuditEntry } from '../lib/store/audit';

export type ProvisioningMode = 'out-of-band' | 'in-band';
export type LifecycleOperation = 'provision' | 'update' | 'remove' | 'rename';
export type RemovalMode = 'partial' | 'full';

/**
 * How device-facing activities reach a device. `tls`: `provisioning` presents the provisioning
 * certificate chain as TLS client (remote configuration, OOB3/OOB4); `managed` verifies the
 * device's issued certificate against amtflow's CA and its FQDN (after stage one).
 */
export interface DeviceSession {
  deviceUuid: string;
  tls: 'provisioning' | 'managed';
  protocol: 'wsman' | 'eoi';
  /** The credential that logged in last; tried first by the next activity (OOB6 order otherwise). */
  credentialRef?: string;
}

export interface ImportedDevice {
  deviceUuid: string;
  hostName: string;
  domain: string;
  fqdn: string;
  collection?: string;
  profileId?: string;
}

/** A Windows account of the settings profile, resolved in the directory (I8). */
export interface AccountSid {
  /** The name as the profile gives it, e.g. `CORP\\AMT Operators`. */
  name: string;
  /** Binary SID, base64: what AMT's KerberosUserSid takes. */
  sidBase64: string;
}

export interface Idempotent {
  /** Derived from workflow id + step, so a retried activity finds its earlier effect. */
  idempotencyKey: string;
}

export interface LifecycleActivities {
  /** P7: every operator decision lands in the append-only audit log. */
  recordAudit(entry: AuditEntry): Promise<string>;

  // Validation: nothing changes; failures are typed and final.
  loadImportedDevice(input: { deviceUuid: string; mode: ProvisioningMode }): Promise<ImportedDevice>;
  probeAmtVersion(input: { deviceUuid: string }): Promise<{ amtVersion: string; protocol: 'wsman' | 'eoi' }>;
  checkDirectoryPrerequisites(input: { deviceUuid: string; fqdn: string; domain: string }): Promise<void>;
  matchTrustedRoot(input: { deviceUuid: string }): Promise<{ rootThumbprint: string }>;

  // Infrastructure around the device.
  revokeDeviceCertificates(input: {
    deviceUuid: string;
    reason: 'superseded' | 'cessationOfOperation';
    templates: Array<'amt-web-server' | '8021x-client'>;
  }): Promise<{ revoked: string[] }>;
  publishAmtAccount(input: { deviceUuid: string } & Idempotent): Promise<{ dn: string; keyVersion: number }>;
  registerSpns(input: { deviceUuid: string }): Promise<{ spns: string[] }>;
  deleteAmtAccount(input: { deviceUuid: string }): Promise<{ deleted: boolean }>;
  /** I8: the SIDs of the Windows users and groups the settings profile names (SIDs are not secret). */
  resolveAccountSids(input: { deviceUuid: string }): Promise<{ accounts: AccountSid[] }>;
  setAutomaticProvisioning(input: { deviceUuid: string; enabled: boolean; by: string }): Promise<void>;
  /**
   * REN2: true once the directory shows the computer under its new name (or an operator confirmed
   * it); then records the new name on the device.
   */
  checkRenameComplete(input: {
    deviceUuid: string;
    hostName: string;
    domain: string;
    confirmedBy?: string;
  }): Promise<{ complete: boolean }>;
  recordResult(
    input: {
      deviceUuid: string;
      operation: LifecycleOperation;
      outcome: 'succeeded' | 'failed' | 'aborted';
      stageReached: string;
      workflowId: string;
      summary: string;
    } & Idempotent,
  ): Promise<void>;

  // The device itself.
  connectForProvisioning(input: {
    deviceUuid: string;
    protocol: 'wsman' | 'eoi';
  }): Promise<{ serverCertificateSha256: string }>;
  loginWithDigest(input: {
    session: DeviceSession;
  }): Promise<{ credentialRef: string; provisioningState: 'pre' | 'in' | 'post' }>;
  verifyOneTimePassword(input: { session: DeviceSession }): Promise<void>;
  requestWebServerCertificate(
    input: { session: DeviceSession; fqdn: string } & Idempotent,
  ): Promise<{ serial: string }>;
  setAmtClock(input: { session: DeviceSession }): Promise<{ driftSeconds: number }>;
  setHostNameAndDomain(input: { session: DeviceSession; hostName: string; domain: string }): Promise<void>;
  installCertificateAndEnableTls(input: { session: DeviceSession; serial: string }): Promise<void>;
  setAdminPassword(input: { session: DeviceSession } & Idempotent): Promise<{ credentialRef: string }>;
  setMebxPassword(input: { session: DeviceSession } & Idempotent): Promise<{ changed: boolean }>;
  commitSetup(input: { session: DeviceSession }): Promise<void>;
  configureAccessControl(input: { session: DeviceSession; accounts: AccountSid[] }): Promise<{ entries: number }>;
  configureFeatures(input: { session: DeviceSession }): Promise<void>;
  enableKerberos(input: { session: DeviceSession }): Promise<void>;
  setPowerPolicy(input: { session: DeviceSession }): Promise<{ changed: boolean }>;
  /** UPD4: on update, wireless profiles are left as they are; 802.1X wired settings are re-applied. */
  configureNetworkAuthentication(
    input: { session: DeviceSession; update: boolean } & Idempotent,
  ): Promise<{ profiles: number }>;
  unprovisionDevice(input: { session: DeviceSession; mode: RemovalMode }): Promise<void>;
}

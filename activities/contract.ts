/**
 * What the lifecycle workflows ask of the outside world: every activity's name, input and result.
 * Inputs and results are secret-free — ids, versions, serials, credential references — because
 * they are stored in Temporal's history. Activities resolve secrets through lib/store themselves.
 */

import type { AmtInterface, AmtPorts, HostPowerState, PowerAction, PowerStatus } from '../lib/amt';
import type { DiscoveryTarget } from '../lib/console';
import type { DiscoveryStatus, ForgetReason, ProvisioningState } from '../lib/store/vocabulary';
import type { DeviceUuid } from '../lib/device-uuid';
import type { DeviceTemplate } from '../lib/pki';
import type { DeviceSession, ResolvedAccount } from '../lib/provisioning';
import type { AuditEntry } from '../lib/store/audit';
import type { ActionResult, TargetSelector } from '../lib/store/collection-actions';
import type { LifecycleOperation } from '../lib/store/vocabulary';

export type { DeviceUuid } from '../lib/device-uuid';
export type { DeviceTemplate } from '../lib/pki';
export type { DeviceSession } from '../lib/provisioning';
/** One vocabulary for the operations, the site database's (`provisioning_results.operation`). */
export type { ForgetReason, LifecycleOperation } from '../lib/store/vocabulary';
export type { ActionResult, TargetSelector } from '../lib/store/collection-actions';
export type ProvisioningMode = 'out-of-band' | 'in-band';
export type RemovalMode = 'partial' | 'full';

export interface ImportedDevice {
  deviceUuid: DeviceUuid;
  hostName: string;
  domain: string;
  fqdn: string;
  collection?: string;
  profileId?: string;
}

/** A Windows account of the settings profile, resolved in the directory (I8). */
export type AccountSid = ResolvedAccount;

export interface Idempotent {
  /** Derived from workflow id + step, so a retried activity finds its earlier effect. */
  idempotencyKey: string;
}

export interface LifecycleActivities {
  /** P7: every operator decision lands in the append-only audit log. */
  recordAudit(entry: AuditEntry): Promise<string>;

  // Validation: nothing changes; failures are typed and final.
  /** OOB2 (IB9); `selectedAs`: the states a collection action selected the device in (ProvisionDeviceInput). */
  loadImportedDevice(input: {
    deviceUuid: DeviceUuid;
    mode: ProvisioningMode;
    selectedAs?: ProvisioningState[];
  }): Promise<ImportedDevice>;
  /** P2; also fixes the address the whole run reaches the device at (issue 9). */
  probeAmtVersion(input: {
    deviceUuid: DeviceUuid;
  }): Promise<{ amtVersion: string; protocol: AmtInterface; endpoint: AmtPorts }>;
  /**
   * P4, read only. `renamed`: the name is the one a rename or move (REN1) will give the computer,
   * so the Windows computer object recorded under the old name is not the one to check.
   */
  checkDirectoryPrerequisites(input: {
    deviceUuid: DeviceUuid;
    fqdn: string;
    domain: string;
    renamed?: boolean;
  }): Promise<void>;
  matchTrustedRoot(input: { deviceUuid: DeviceUuid }): Promise<{ rootThumbprint: string }>;

  // Infrastructure around the device.
  /**
   * Revokes the device's current certificates of `templates`. With `requestIds`, only those issued
   * under these request ids (a run's own, for its undo); with `exceptRequestIds`, all but those
   * issued under these ids or ids below them (`<id>/…`): what existed before the run (issue 9).
   */
  revokeDeviceCertificates(input: {
    deviceUuid: DeviceUuid;
    /** `keyCompromise` when a forgotten device was stolen or lost: its private key is out of reach. */
    reason: 'superseded' | 'cessationOfOperation' | 'keyCompromise';
    templates: DeviceTemplate[];
    requestIds?: string[];
    exceptRequestIds?: string[];
  }): Promise<{ revoked: string[] }>;
  publishAmtAccount(input: { deviceUuid: DeviceUuid } & Idempotent): Promise<{ dn: string; keyVersion: number }>;
  /** I5 (SP2+, in band): the AMT account joins the 802.1X and wireless security groups the profile names. */
  joinSecurityGroups(input: { deviceUuid: DeviceUuid }): Promise<{ joined: string[] }>;
  /** I5 undone on removal: the AMT account leaves those groups before its object is deleted (DEP2.2). */
  leaveSecurityGroups(input: { deviceUuid: DeviceUuid }): Promise<{ left: string[] }>;
  registerSpns(input: { deviceUuid: DeviceUuid }): Promise<{ spns: string[] }>;
  deleteAmtAccount(input: { deviceUuid: DeviceUuid }): Promise<{ deleted: boolean }>;
  /** I8: the SIDs of the Windows users and groups the settings profile names (SIDs are not secret). */
  resolveAccountSids(input: { deviceUuid: DeviceUuid }): Promise<{ accounts: AccountSid[] }>;
  setAutomaticProvisioning(input: { deviceUuid: DeviceUuid; enabled: boolean; by: string }): Promise<void>;
  /**
   * REN2: true once the directory shows the computer under its new name (or an operator confirmed
   * it); then records the new name on the device.
   */
  checkRenameComplete(input: {
    deviceUuid: DeviceUuid;
    hostName: string;
    domain: string;
    confirmedBy?: string;
  }): Promise<{ complete: boolean }>;
  /**
   * Issue 11 §2, the last step of forgetting a device: the device and its secrets removed from the
   * site database in one transaction, audited (`device.forget`). Idempotent by key.
   */
  forgetDeviceRecords(
    input: {
      deviceUuid: DeviceUuid;
      reason: ForgetReason;
      note?: string;
      requestedBy: string;
      workflowId: string;
    } & Idempotent,
  ): Promise<{ forgotten: boolean }>;
  recordResult(
    input: {
      deviceUuid: DeviceUuid;
      operation: LifecycleOperation;
      outcome: 'succeeded' | 'failed' | 'aborted';
      stageReached: string;
      workflowId: string;
      summary: string;
    } & Idempotent,
  ): Promise<void>;

  // The device itself.
  /** OOB4/IB8: resolves with the fingerprint of the certificate the firmware presented, which the run pins. */
  connectForProvisioning(input: {
    deviceUuid: DeviceUuid;
    protocol: AmtInterface;
    endpoint?: AmtPorts;
    /** OOB3's choice: the SHA-256 of the root whose provisioning chain to present (the main one when absent). */
    provisioningRoot?: string;
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
  /**
   * UPD4: on update, wireless profiles are left as they are; 802.1X wired settings are re-applied,
   * unless `skipWired` (the operator chose to keep the device's wired settings).
   */
  configureNetworkAuthentication(
    input: { session: DeviceSession; update: boolean; skipWired?: boolean } & Idempotent,
  ): Promise<{ profiles: number }>;
  /**
   * UPD4, before OOB9.4 on update: a warning when the profile's 802.1X wired settings would be
   * re-applied while the host's operating system is not running (an incompatible setting then drops
   * the device's connection); none otherwise.
   */
  checkWiredIeee8021xUpdate(input: { session: DeviceSession }): Promise<{ warning?: string; hostState: string }>;
  unprovisionDevice(input: { session: DeviceSession; mode: RemovalMode }): Promise<void>;

  // Certificate renewal (issue 11 §4): the new certificate in place, then the old one revoked.
  /** I6 + OOB8.3 on a provisioned device: install `serial` and make it the TLS server's certificate. */
  switchWebServerCertificate(input: { session: DeviceSession; serial: string }): Promise<{ switched: boolean }>;
  /** I1 after the switch: every other current AMT web-server certificate of the device, revoked as superseded. */
  revokeSupersededCertificates(input: { deviceUuid: DeviceUuid; keepSerial: string }): Promise<{ revoked: string[] }>;
}

/** Collection actions (workflows/collection-action.ts): which devices, and what became of each. */
export interface CollectionActionActivities {
  /**
   * How many devices `selector` names at `now` (ISO 8601, the action's start: a selector in days
   * reads the same on every attempt and after continue-as-new).
   */
  countActionTargets(input: { selector: TargetSelector; now: string }): Promise<{ total: number }>;
  /** The next page of device UUIDs after `after`, in UUID order; fewer than `limit` at the end. */
  listActionTargets(input: {
    selector: TargetSelector;
    now: string;
    after?: DeviceUuid;
    limit: number;
  }): Promise<{ devices: DeviceUuid[] }>;
  /** Per-device outcomes into the site database; a device's row takes its latest status. */
  recordActionResults(input: { actionId: string; results: ActionResult[] }): Promise<void>;
}

/** OPS1: what a sweep covers — a collection's devices, or an IPv4 range (ports default 16992/16993). */
export type DiscoveryScope =
  { collection: string } | { first: string; last: string; httpPort?: number; tlsPort?: number };

export type { DiscoveryTarget } from '../lib/console';
export type { HostPowerState, PowerAction, PowerStatus } from '../lib/amt';

export interface AddressStatus {
  host: string;
  deviceUuid: DeviceUuid | null;
  status: DiscoveryStatus;
  amtVersion: string | null;
}

/** Console operations (OPS1, OPS2): secret-free like the lifecycle's. */
export interface ConsoleActivities {
  listDiscoveryTargets(input: { scope: DiscoveryScope }): Promise<{ targets: DiscoveryTarget[] }>;
  /** Probes one address under `timeoutMs` per port and stores its status with the time seen. */
  discoverAddress(input: { target: DiscoveryTarget; timeoutMs: number; sweepId: string }): Promise<AddressStatus>;
  /** The devices of a collection, in import order (OPS2 collection power). */
  listCollectionDevices(input: { collection: string }): Promise<{ deviceUuids: DeviceUuid[] }>;
  readPowerState(input: { deviceUuid: DeviceUuid }): Promise<PowerStatus>;
  /** Fails with POWER_ACTION_REFUSED / POWER_ACTION_NOT_OFFERED (details: action, returnValue, returnCode). */
  requestPowerChange(input: {
    deviceUuid: DeviceUuid;
    action: PowerAction;
  }): Promise<{ result: 'done' | 'already'; interface: AmtInterface; state: HostPowerState }>;
}

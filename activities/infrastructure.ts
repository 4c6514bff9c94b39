import type { AmtAccount, KerberosEncryptionType } from '../lib/directory';
import { childDn } from '../lib/directory/dn';
import { deviceProfile, securityGroupsOf } from '../lib/provisioning';
import type { DevicePatch, Repositories } from '../lib/store';
import type { LifecycleActivities, LifecycleOperation } from './contract';
import type { ActivityDeps } from './deps';
import { importedDevice } from './validation';

type InfrastructureActivities = Pick<
  LifecycleActivities,
  | 'revokeDeviceCertificates'
  | 'publishAmtAccount'
  | 'registerSpns'
  | 'joinSecurityGroups'
  | 'leaveSecurityGroups'
  | 'deleteAmtAccount'
  | 'resolveAccountSids'
  | 'setAutomaticProvisioning'
  | 'checkRenameComplete'
  | 'forgetDeviceRecords'
  | 'recordResult'
>;

/**
 * OOB10: where amtflow's lifecycle leaves a device (OPS1's AMT status with it). A finished removal —
 * either DEP1 option, and the removal half of a rename — returns the firmware to pre-provisioning.
 * A failed or aborted run marks the device failed and leaves its AMT status to discovery.
 */
function deviceAfter(
  operation: LifecycleOperation,
  outcome: 'succeeded' | 'failed' | 'aborted',
  stageReached: string,
): DevicePatch {
  // An abort after the firmware committed (abort matrix, docs/architecture.md) leaves it provisioned.
  if (outcome === 'aborted' && stageReached === 'stage-one') {
    return { provisioningState: 'failed', discoveryStatus: 'provisioned' };
  }
  if (outcome !== 'succeeded') return { provisioningState: 'failed' };
  // A renewed certificate or a rotated password leaves a provisioned device provisioned.
  if (operation === 'renew_certificate' || operation === 'rotate_password') return { provisioningState: 'provisioned' };
  return operation === 'provision' || operation === 'update'
    ? { provisioningState: 'provisioned', discoveryStatus: 'provisioned' }
    : { provisioningState: 'unprovisioned', discoveryStatus: 'not_provisioned' };
}

/** The KDC encrypts tickets with the strongest type the account lists; AMT before Release 8 has only RC4. */
function encryptionTypesFor(amtVersion: string | null): KerberosEncryptionType[] | undefined {
  return amtVersion !== null && Number.parseInt(amtVersion, 10) < 8 ? ['rc4-hmac'] : undefined;
}

/** I1–I5, OOB7, OOB10, DEP2, DEP3, REN2, REN3: the CA, the directory and the site database. */
export function infrastructureActivities(deps: ActivityDeps): InfrastructureActivities {
  const { store } = deps;

  const recordPublished = (device: string, account: AmtAccount) =>
    store.directoryObjects.save(device, {
      dn: account.dn,
      spns: account.spns,
      windowsComputerDn: account.computerDn ?? null,
      keyVersion: account.keyVersionNumber,
      status: 'published',
    });

  return {
    async revokeDeviceCertificates({ deviceUuid, reason, templates, requestIds, exceptRequestIds }) {
      if (requestIds === undefined && exceptRequestIds === undefined) {
        // Idempotent in the CA: a retry revokes nothing new (and republishes the CRL, healing a crash
        // between the database update and the CRL), so it returns only what this call revoked.
        const revoked = await deps.ca.revokeDeviceCertificates(deviceUuid, reason, templates);
        return { revoked: revoked.map((record) => record.serial) };
      }
      // Issue 9: only what a run issued itself (its undo), or only what existed before it.
      const under = (requestId: string, ids: readonly string[]) =>
        ids.some((id) => requestId === id || requestId.startsWith(`${id}/`));
      const current = await deps.ca.currentCertificates(deviceUuid, templates);
      const chosen = current.filter((certificate) =>
        requestIds !== undefined
          ? under(certificate.requestId, requestIds)
          : !under(certificate.requestId, exceptRequestIds ?? []),
      );
      const revoked: string[] = [];
      // One at a time, each republishing the CRL: a retry finds the revoked ones gone from `current`.
      for (const certificate of chosen) revoked.push((await deps.ca.revoke(certificate.serial, reason)).serial);
      return { revoked };
    },

    /**
     * I3 with the write-ahead rule (law 3). In order: the P4 checks (reads); the new password
     * committed as `pending` under the run's key and the object recorded `pending` (so compensation
     * after a crash knows what may exist); the object published (idempotent); the password set and
     * promoted; the object recorded `published` with the key version the directory assigned.
     * A retry after a crash at any point takes the same pending version (same key) and walks on:
     * a password already promoted is not set again, one still pending is set again with the same
     * value — the directory then holds that value whichever attempt reached it.
     */
    async publishAmtAccount({ deviceUuid, idempotencyKey }) {
      const device = await importedDevice(deps, deviceUuid);
      const computer = {
        fqdn: device.fqdn,
        domain: device.domain,
        ...(device.windowsComputerDn ? { computerDn: device.windowsComputerDn } : {}),
      };
      const encryptionTypes = encryptionTypesFor(device.amtVersion);
      return deps.withDirectory(async (directory) => {
        const checked = await directory.checkPrerequisites(computer);
        // The DN publishAmtAccount will use; the session opened, so the section is configured.
        const container = `${deps.config.directory?.amtContainer},${checked.domain.dn}`;
        const credential = await store.credentials.stagePending(device.uuid, 'directory_account', idempotencyKey);
        const earlier = await store.directoryObjects.get(device.uuid);
        await store.directoryObjects.save(device.uuid, {
          dn: childDn('CN', checked.host, container),
          spns: earlier?.spns ?? [],
          windowsComputerDn: checked.computerDn ?? null,
          keyVersion: earlier?.keyVersion ?? null,
          status: 'pending',
        });
        let account: AmtAccount = await directory.publishAmtAccount(
          computer,
          encryptionTypes ? { encryptionTypes } : {},
        );
        if (credential.status === 'pending') {
          const ref = { device: credential.device, kind: credential.kind, version: credential.version };
          account = await directory.setAmtAccountPassword(device.fqdn, await store.credentials.reveal(ref));
          await store.credentials.promote(ref);
        }
        await recordPublished(device.uuid, account);
        return { dn: account.dn, keyVersion: account.keyVersionNumber };
      });
    },

    async registerSpns({ deviceUuid }) {
      const device = await importedDevice(deps, deviceUuid);
      // Adds only missing SPNs; a conflict writes nothing and is the typed SPN_CONFLICT.
      const account = await deps.withDirectory((directory) => directory.registerSpns(device.fqdn));
      await recordPublished(device.uuid, account);
      return { spns: account.spns };
    },

    async joinSecurityGroups({ deviceUuid }) {
      const device = await importedDevice(deps, deviceUuid);
      const groups = securityGroupsOf((await deviceProfile(store, deviceUuid)).settings);
      if (groups.length === 0) return { joined: [] };
      const { groups: dns, changed } = await deps.withDirectory((directory) =>
        directory.addAmtAccountToGroups(device.fqdn, groups),
      );
      // Recorded after the directory write: a retry after a crash in between finds the account a
      // member already and records the same groups. Removal leaves exactly what is recorded here.
      const recorded = (await store.directoryObjects.get(device.uuid))?.securityGroups ?? [];
      await store.directoryObjects.setSecurityGroups(device.uuid, [...new Set([...recorded, ...dns])]);
      return { joined: changed };
    },

    async leaveSecurityGroups({ deviceUuid }) {
      const device = await importedDevice(deps, deviceUuid);
      const joined = (await store.directoryObjects.get(device.uuid))?.securityGroups ?? [];
      // Only the groups I5 joined: a device I5 never ran for (out of band) has none to leave.
      if (joined.length === 0) return { left: [] };
      const left = await deps.withDirectory((directory) => directory.removeAmtAccountFromGroups(device.fqdn, joined));
      await store.directoryObjects.setSecurityGroups(device.uuid, []);
      return { left };
    },

    async deleteAmtAccount({ deviceUuid }) {
      const device = await importedDevice(deps, deviceUuid);
      const recorded = await store.directoryObjects.get(device.uuid);
      const removed = await deps.withDirectory(async (directory) => {
        await directory.removeSpns(device.fqdn);
        return directory.deleteAmtAccount(device.fqdn);
      });
      if (recorded && recorded.status !== 'deleted') {
        await store.directoryObjects.save(device.uuid, {
          dn: recorded.dn,
          spns: [],
          windowsComputerDn: recorded.windowsComputerDn,
          keyVersion: recorded.keyVersion,
          status: 'deleted',
        });
      }
      // A retry after a crash between the directory delete and the record finds nothing in the
      // directory, but the record still says published: the account existed, so report it deleted.
      return { deleted: removed || recorded?.status === 'published' };
    },

    async forgetDeviceRecords({ deviceUuid, reason, note, requestedBy, workflowId, idempotencyKey }) {
      return store.transaction(async (s) => {
        const { forgotten, counts } = await s.forgotten.forget({
          device: deviceUuid,
          reason,
          ...(note ? { note } : {}),
          by: requestedBy,
          workflowId,
          idempotencyKey,
        });
        // A retry after the commit finds the row: the audit entry was written with it.
        if (counts)
          await s.audit.append({
            actor: requestedBy,
            action: 'device.forget',
            target: forgotten.device,
            outcome: 'success',
            details: { reason, fqdn: forgotten.fqdn, collection: forgotten.collection, workflowId, removed: counts },
          });
        return { forgotten: true };
      });
    },

    async resolveAccountSids({ deviceUuid }) {
      const device = await importedDevice(deps, deviceUuid);
      const { settingsProfile } = await store.devices.automaticProvisioning(device.uuid);
      if (!settingsProfile) return { accounts: [] };
      const { settings } = await store.profiles.require(settingsProfile);
      const names = settings.userAccounts.flatMap((u) => (u.type === 'kerberos' ? [u.account] : []));
      if (names.length === 0) return { accounts: [] };
      // All or nothing: one unknown name is PRINCIPAL_NOT_FOUND naming it.
      const principals = await deps.withDirectory((directory) => directory.lookupPrincipals(names));
      return { accounts: principals.map((p) => ({ name: p.name, sidBase64: p.sidBase64 })) };
    },

    async setAutomaticProvisioning({ deviceUuid, enabled, by }) {
      const device = await importedDevice(deps, deviceUuid);
      // The switch and its audit entry commit together, and only when the switch moves: a retry
      // after the commit changes nothing and appends no second entry.
      await store.transaction(async (trx: Repositories) => {
        const current = await trx.devices.require(device.uuid);
        if (current.automaticProvisioningEnabled === enabled) return;
        await trx.devices.setAutomaticProvisioning(device.uuid, enabled);
        await trx.audit.append({
          actor: by,
          action: `device.automatic-provisioning.${enabled ? 'enable' : 'disable'}`,
          target: device.uuid,
          outcome: 'success',
          details: { fqdn: device.fqdn },
        });
      });
    },

    async checkRenameComplete({ deviceUuid, hostName, domain, confirmedBy }) {
      const device = await importedDevice(deps, deviceUuid);
      let windowsComputerDn: string | null = null;
      if (confirmedBy === undefined) {
        // The Windows computer shows under the new name in the new domain once the change replicated.
        // A target the P4 checks refuse is the typed error: waiting would not change it.
        const checked = await deps.withDirectory((directory) =>
          directory.checkPrerequisites({ fqdn: `${hostName}.${domain}`, domain }),
        );
        if (!checked.computerDn) return { complete: false };
        windowsComputerDn = checked.computerDn;
      }
      // With only an operator's word, the old DN names the object under its old name: drop it, and
      // publishing finds the computer by its new name. Plain values: a retry writes the same.
      await store.devices.update(device.uuid, { hostName, domain, windowsComputerDn });
      return { complete: true };
    },

    async recordResult({ deviceUuid, operation, outcome, stageReached, workflowId, summary, idempotencyKey }) {
      const device = await importedDevice(deps, deviceUuid);
      await store.transaction(async (trx: Repositories) => {
        const { created } = await trx.results.record(
          { device: device.uuid, operation, workflowId, outcome, stageReached, summary },
          idempotencyKey,
        );
        // The result and the device's state commit together. A retry finds the result and leaves
        // the device alone: a later run may have moved it on since.
        if (created) {
          await trx.devices.update(device.uuid, {
            ...deviceAfter(operation, outcome, stageReached),
            provisioningStage: stageReached,
          });
        }
      });
    },
  };
}

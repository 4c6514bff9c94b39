import { createHash } from 'node:crypto';
import { AmtConnectionError, AmtTlsError, probeAmt } from '../lib/amt';
import type { DeviceSession, LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';
import {
  deviceCertificate,
  deviceEndpoint,
  openDevice,
  sha256Fingerprint,
  tlsOptions,
  winningRef,
} from './device-connection';
import { stageOneActivities } from './device-stage-one';
import { stageTwoActivities } from './device-stage-two';
import { permanentFailure } from './failures';

type DeviceActivities = Pick<
  LifecycleActivities,
  | 'connectForProvisioning'
  | 'loginWithDigest'
  | 'verifyOneTimePassword'
  | 'requestWebServerCertificate'
  | 'setAmtClock'
  | 'setHostNameAndDomain'
  | 'installCertificateAndEnableTls'
  | 'setAdminPassword'
  | 'setMebxPassword'
  | 'commitSetup'
  | 'configureAccessControl'
  | 'configureFeatures'
  | 'enableKerberos'
  | 'setPowerPolicy'
  | 'configureNetworkAuthentication'
  | 'unprovisionDevice'
>;

/** OOB3–OOB9, IB5, DEP1: everything that talks to the AMT firmware. */
export function deviceActivities(deps: ActivityDeps): DeviceActivities {
  /** Whether the device is up but its TLS port no longer serves a CA-issued certificate (DEP1). */
  async function servesFactoryTls(session: DeviceSession): Promise<boolean> {
    const endpoint = await deviceEndpoint(deps, session.deviceUuid);
    await probeAmt({ host: endpoint.host, port: endpoint.httpPort }, deps.amtTimeouts);
    try {
      const served = await deviceCertificate(endpoint, {
        legacyProtocols: session.protocol === 'eoi',
        connectMs: deps.amtTimeouts.connectMs,
      });
      return served.subject === served.issuer;
    } catch (err) {
      if (err instanceof AmtTlsError) return true;
      throw err;
    }
  }

  return {
    /**
     * OOB3/OOB4: a handshake presenting the provisioning chain, then one unauthenticated request
     * over a connection pinned to the certificate seen: firmware that checks our chain after the
     * handshake closes that connection unanswered, which is its refusal.
     */
    async connectForProvisioning({ deviceUuid, protocol }) {
      const endpoint = await deviceEndpoint(deps, deviceUuid);
      const tls = await tlsOptions(deps, { deviceUuid, protocol, tls: 'provisioning' });
      if (tls.mode !== 'provisioning') throw new Error('provisioning TLS expected');
      const certificate = await deviceCertificate(endpoint, {
        clientCertificate: { cert: tls.clientCertificateChainPem, key: tls.clientKeyPem },
        legacyProtocols: tls.legacyProtocols === true,
        connectMs: deps.amtTimeouts.connectMs,
      });
      const serverCertificateSha256 = sha256Fingerprint(certificate);
      try {
        await probeAmt(
          { host: endpoint.host, port: endpoint.tlsPort, tls: { ...tls, pinnedServerSha256: serverCertificateSha256 } },
          deps.amtTimeouts,
        );
      } catch (err) {
        if (!(err instanceof AmtConnectionError && err.code === 'CONNECTION_RESET')) throw err;
        throw new AmtTlsError(
          'TLS_HANDSHAKE_REJECTED',
          `${endpoint.host}:${endpoint.tlsPort}: the device closed the session unanswered: it refused the provisioning certificate (OOB4)`,
          err,
        );
      }
      return { serverCertificateSha256 };
    },

    /** OOB5/OOB6: Digest with the stored and configured credentials in order; the winner is returned by reference. */
    async loginWithDigest({ session }) {
      const { amt, setup } = await openDevice(deps, session);
      await amt.login(session.protocol);
      return { credentialRef: winningRef(amt), provisioningState: await setup.getProvisioningState() };
    },

    /**
     * IB5: the OTP the firmware holds (readable during in-provisioning) is hashed and compared with
     * the hash the agent reported; on a match it is presented back to the firmware, which refuses
     * CommitChanges until the provisioning server has shown it knows the OTP. The OTP itself is
     * never returned or logged; the idempotency key is derived from its hash, so a retry of this
     * step finds its own consumption.
     */
    async verifyOneTimePassword({ session }) {
      const report = await deps.store.otp.latest(session.deviceUuid);
      const { amt } = await openDevice(deps, session);
      const instance = await amt.wsman.client.get('AMT_SetupAndConfigurationService');
      const otpBase64 = instance.properties['ProvisioningServerOTP'];
      if (typeof otpBase64 !== 'string' || otpBase64 === '') {
        throw permanentFailure('OTP_NOT_REPORTED', `the firmware of ${session.deviceUuid} holds no one-time password`);
      }
      const hashOf = (algorithm: string) =>
        createHash(algorithm).update(Buffer.from(otpBase64, 'base64')).digest('hex');
      const firmwareHash = hashOf(report?.algorithm ?? 'sha256');
      const verdict = await deps.store.otp.verifyAndConsume(
        session.deviceUuid,
        firmwareHash,
        `IB5/${session.deviceUuid}/${hashOf('sha256')}`,
      );
      if (!verdict.matched) {
        throw verdict.reason === 'no_report'
          ? permanentFailure('OTP_NOT_REPORTED', `no agent reported a one-time password for ${session.deviceUuid}`)
          : permanentFailure(
              'OTP_MISMATCH',
              `the firmware's one-time password of ${session.deviceUuid} is not the one reported`,
            );
      }
      await amt.wsman.client.put(instance, { ProvisioningServerOTP: otpBase64 });
    },

    ...stageOneActivities(deps),
    ...stageTwoActivities(deps),

    /**
     * DEP1, one-shot: the state is read first and a device already back in pre-provisioning is
     * done. Once Unprovision took effect the device no longer serves amtflow's certificate, so the
     * managed session cannot read the state; then what the TLS port does is the state: refusing TLS
     * or serving a self-signed certificate while the device answers on 16992 means its TLS
     * configuration is gone, which is what an earlier attempt's Unprovision left.
     *
     * After a full removal the firmware's admin password is the factory one again; the stored
     * current amt_admin credential is left as it is (the store has no operation to retire it), and
     * the next provisioning's Digest fallback reaches the factory account after one refusal.
     */
    async unprovisionDevice({ session, mode }) {
      const { setup } = await openDevice(deps, session);
      let state;
      try {
        state = await setup.getProvisioningState();
      } catch (err) {
        if (err instanceof AmtTlsError && (await servesFactoryTls(session))) return;
        throw err;
      }
      if (state === 'pre') return;
      await setup.unprovision(mode);
    },
  };
}

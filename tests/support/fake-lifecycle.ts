import { ApplicationFailure } from '@temporalio/common';
import type { DeviceUuid, LifecycleActivities } from '../../activities/contract';

/** `until`: the attempt waits for the promise, then succeeds (a test holds a run at an attempt). */
export type Outcome = 'ok' | 'fail' | { invalid: string } | { until: Promise<unknown> };

/**
 * Lifecycle activities that only record their calls: for testing the workflows' logic (order of
 * steps, operator decisions, compensation, one operation per device) apart from the systems the
 * real activities reach. Each activity can be scripted to fail in turn.
 */
export function fakeLifecycleActivities(script: Partial<Record<keyof LifecycleActivities, Outcome[]>> = {}) {
  const calls: Array<{ name: keyof LifecycleActivities; input: unknown }> = [];
  const act = <K extends keyof LifecycleActivities>(name: K, result: Awaited<ReturnType<LifecycleActivities[K]>>) =>
    (async (input: unknown) => {
      calls.push({ name, input });
      const next = script[name]?.shift() ?? 'ok';
      if (next === 'fail') throw new Error(`${name} failed`);
      if (typeof next === 'object' && 'until' in next) {
        await next.until;
        return result;
      }
      if (typeof next === 'object') throw ApplicationFailure.nonRetryable(`${name}: ${next.invalid}`, next.invalid);
      return result;
    }) as unknown as LifecycleActivities[K];
  const activities: LifecycleActivities = {
    recordAudit: act('recordAudit', '1'),
    loadImportedDevice: act('loadImportedDevice', {
      deviceUuid: '00000000-0000-4000-8000-000000000001' as DeviceUuid,
      hostName: 'amt-0001',
      domain: 'corp.example.test',
      fqdn: 'amt-0001.corp.example.test',
      collection: 'lab',
    }),
    probeAmtVersion: act('probeAmtVersion', {
      amtVersion: '11.8.50',
      protocol: 'wsman',
      endpoint: { host: '192.0.2.10', httpPort: 16992, tlsPort: 16993 },
    }),
    checkDirectoryPrerequisites: act('checkDirectoryPrerequisites', undefined),
    matchTrustedRoot: act('matchTrustedRoot', { rootThumbprint: 'ab'.repeat(32) }),
    revokeDeviceCertificates: act('revokeDeviceCertificates', { revoked: [] }),
    publishAmtAccount: act('publishAmtAccount', {
      dn: 'CN=amt-0001,OU=AMT Devices,DC=corp,DC=example,DC=test',
      keyVersion: 2,
    }),
    registerSpns: act('registerSpns', { spns: ['HTTP/amt-0001.corp.example.test:16992'] }),
    joinSecurityGroups: act('joinSecurityGroups', { joined: [] }),
    leaveSecurityGroups: act('leaveSecurityGroups', { left: [] }),
    deleteAmtAccount: act('deleteAmtAccount', { deleted: true }),
    resolveAccountSids: act('resolveAccountSids', {
      accounts: [{ name: 'CORP\\AMT Operators', sidBase64: 'AQUAAAAAAAUVAAAA' }],
    }),
    setAutomaticProvisioning: act('setAutomaticProvisioning', undefined),
    checkRenameComplete: act('checkRenameComplete', { complete: false }),
    forgetDeviceRecords: act('forgetDeviceRecords', { forgotten: true }),
    recordResult: act('recordResult', undefined),
    connectForProvisioning: act('connectForProvisioning', { serverCertificateSha256: 'cd'.repeat(32) }),
    loginWithDigest: act('loginWithDigest', { credentialRef: 'admin:1', provisioningState: 'in' }),
    verifyOneTimePassword: act('verifyOneTimePassword', undefined),
    requestWebServerCertificate: act('requestWebServerCertificate', { serial: '0a1b2c' }),
    setAmtClock: act('setAmtClock', { driftSeconds: 3 }),
    setHostNameAndDomain: act('setHostNameAndDomain', undefined),
    installCertificateAndEnableTls: act('installCertificateAndEnableTls', undefined),
    setAdminPassword: act('setAdminPassword', { credentialRef: 'admin:2' }),
    setMebxPassword: act('setMebxPassword', { changed: true }),
    commitSetup: act('commitSetup', undefined),
    configureAccessControl: act('configureAccessControl', { entries: 2 }),
    configureFeatures: act('configureFeatures', undefined),
    enableKerberos: act('enableKerberos', undefined),
    setPowerPolicy: act('setPowerPolicy', { changed: true }),
    configureNetworkAuthentication: act('configureNetworkAuthentication', { profiles: 0 }),
    checkWiredIeee8021xUpdate: act('checkWiredIeee8021xUpdate', { hostState: 'on' }),
    unprovisionDevice: act('unprovisionDevice', undefined),
    switchWebServerCertificate: act('switchWebServerCertificate', { switched: true }),
    revokeSupersededCertificates: act('revokeSupersededCertificates', { revoked: ['0a1b2b'] }),
  };
  // Like the real one, the login tries the session's last credential first and reports it.
  const login = activities.loginWithDigest;
  activities.loginWithDigest = async (input) => {
    const result = await login(input);
    return input.session.credentialRef ? { ...result, credentialRef: input.session.credentialRef } : result;
  };
  return { activities, calls, names: () => calls.map((c) => c.name) };
}

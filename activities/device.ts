import type { LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';

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
export function deviceActivities(_deps: ActivityDeps): DeviceActivities {
  const pending = async (): Promise<never> => {
    throw new Error('not implemented yet');
  };
  return {
    connectForProvisioning: pending,
    loginWithDigest: pending,
    verifyOneTimePassword: pending,
    requestWebServerCertificate: pending,
    setAmtClock: pending,
    setHostNameAndDomain: pending,
    installCertificateAndEnableTls: pending,
    setAdminPassword: pending,
    setMebxPassword: pending,
    commitSetup: pending,
    configureAccessControl: pending,
    configureFeatures: pending,
    enableKerberos: pending,
    setPowerPolicy: pending,
    configureNetworkAuthentication: pending,
    unprovisionDevice: pending,
  };
}

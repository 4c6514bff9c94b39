import type { LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';

type InfrastructureActivities = Pick<
  LifecycleActivities,
  | 'revokeDeviceCertificates'
  | 'publishAmtAccount'
  | 'registerSpns'
  | 'deleteAmtAccount'
  | 'resolveAccountSids'
  | 'setAutomaticProvisioning'
  | 'checkRenameComplete'
  | 'recordResult'
>;

/** I1–I5, OOB7, OOB10, DEP2, DEP3, REN2, REN3: the CA, the directory and the site database. */
export function infrastructureActivities(_deps: ActivityDeps): InfrastructureActivities {
  const pending = async (): Promise<never> => {
    throw new Error('not implemented yet');
  };
  return {
    revokeDeviceCertificates: pending,
    publishAmtAccount: pending,
    registerSpns: pending,
    deleteAmtAccount: pending,
    resolveAccountSids: pending,
    setAutomaticProvisioning: pending,
    checkRenameComplete: pending,
    recordResult: pending,
  };
}

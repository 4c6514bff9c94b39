import type { LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';

type ValidationActivities = Pick<
  LifecycleActivities,
  'loadImportedDevice' | 'probeAmtVersion' | 'checkDirectoryPrerequisites' | 'matchTrustedRoot'
>;

/** P1, P2, P4, OOB2, OOB3, IB9: checks before anything changes. */
export function validationActivities(_deps: ActivityDeps): ValidationActivities {
  const pending = async (): Promise<never> => {
    throw new Error('not implemented yet');
  };
  return {
    loadImportedDevice: pending,
    probeAmtVersion: pending,
    checkDirectoryPrerequisites: pending,
    matchTrustedRoot: pending,
  };
}

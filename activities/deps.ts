import type { AmtflowConfig } from '../lib/config';
import type { SecretBox } from '../lib/crypto/secret-box';
import type { ActiveDirectory } from '../lib/directory';
import type { DeviceAccess } from '../lib/provisioning';
import type { Database } from '../lib/store/database';

/**
 * What activities need from the outside world. The worker builds it once
 * (runtime/activity-deps.ts) and injects it into createActivities; tests build their own.
 * `store`, `ca`, `provisioningAccounts` and `amtTimeouts` are how a step reaches a device
 * (lib/provisioning's DeviceAccess).
 */
export interface ActivityDeps extends DeviceAccess {
  config: AmtflowConfig;
  database: Database;
  box: SecretBox;
  /** One LDAP session for `work`, closed whatever happens: connections do not outlive a step. */
  withDirectory<T>(work: (directory: ActiveDirectory) => Promise<T>): Promise<T>;
}

import type { AmtTimeouts } from '../lib/amt';
import type { AmtflowConfig } from '../lib/config';
import type { SecretBox } from '../lib/crypto/secret-box';
import type { ActiveDirectory } from '../lib/directory';
import type { CertificateAuthority } from '../lib/pki';
import type { Store } from '../lib/store';
import type { ProvisioningAccount } from '../lib/store/credentials';
import type { Database } from '../lib/store/database';

/**
 * What activities need from the outside world. The worker builds it once
 * (runtime/activity-deps.ts) and injects it into createActivities; tests build their own.
 */
export interface ActivityDeps {
  config: AmtflowConfig;
  database: Database;
  store: Store;
  box: SecretBox;
  ca: CertificateAuthority;
  /** One LDAP session per activity: connections do not outlive a step. The caller closes it. */
  openDirectory(): Promise<ActiveDirectory>;
  /** OOB6: Digest accounts tried after the device's own credentials, passwords already read. */
  provisioningAccounts: readonly ProvisioningAccount[];
  amtTimeouts: AmtTimeouts;
}

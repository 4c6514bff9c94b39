import type { Kysely } from 'kysely';
import type { SecretBox } from '../crypto/secret-box';
import { auditRepository } from './audit';
import { collectionActionRepository } from './collection-actions';
import { certificatesRepository } from './certificates';
import { collectionRepository } from './collections';
import { consoleRepository } from './console';
import { contactRepository } from './contacts';
import { credentialRepository } from './credentials';
import type { Database } from './database';
import { deviceRepository } from './devices';
import { directoryObjectRepository } from './directory-objects';
import { forgottenRepository } from './forgotten';
import { otpRepository } from './otp';
import { principalRepository } from './principals';
import { profileRepository } from './profiles';
import { resultRepository } from './results';
import type { Schema } from './schema';
import { inTransaction } from './transaction';

function repositories(db: Kysely<Schema>, box: SecretBox) {
  return {
    audit: auditRepository(db),
    collectionActions: collectionActionRepository(db),
    certificates: certificatesRepository(db),
    collections: collectionRepository(db),
    console: consoleRepository(db),
    contacts: contactRepository(db),
    credentials: credentialRepository(db, box),
    devices: deviceRepository(db),
    directoryObjects: directoryObjectRepository(db),
    forgotten: forgottenRepository(db),
    otp: otpRepository(db),
    principals: principalRepository(db),
    profiles: profileRepository(db, box),
    results: resultRepository(db),
  };
}

export type Repositories = ReturnType<typeof repositories>;

export interface Store extends Repositories {
  /**
   * Runs `fn` with repositories bound to one transaction: everything it writes commits together or
   * not at all (e.g. OOB10's database update: result, device state and credential promotion).
   */
  transaction<T>(fn: (store: Repositories) => Promise<T>): Promise<T>;
}

/**
 * Every repository of the site database over one connection. `box` seals and opens secrets with the
 * key-encryption key (`secretBoxFromConfig`), which never enters the database.
 */
export function createStore(database: Pick<Database, 'db'>, box: SecretBox): Store {
  return {
    ...repositories(database.db, box),
    transaction: (fn) => inTransaction(database.db, (trx) => fn(repositories(trx, box))),
  };
}

export { StoreError, type StoreErrorCode, type FieldIssue } from './errors';
export { idempotencyKey, normaliseDeviceUuid } from './fields';
export type { Device, DevicePatch, ImportComputer, AutomaticProvisioning } from './devices';
export type { Collection, CollectionInput } from './collections';
export type { ActionResult, TargetSelector } from './collection-actions';
export type { DiscoveryObservation, RedirectionKind, RedirectionOutcome, RedirectionSession } from './console';
export type { CandidateRef, Credential, CredentialRef, DigestCandidate, ProvisioningAccount } from './credentials';
export { describeCandidate, DEFAULT_ADMIN_USERNAME } from './credentials';
export type { DirectoryObject, DirectoryObjectInput } from './directory-objects';
export { forgetRequestSchema, type ForgetCounts, type ForgetInput, type ForgottenDevice } from './forgotten';
export type { OtpReport, OtpReportInput, OtpVerification } from './otp';
export type { SettingsProfile } from './profiles';
export type { ApiTokenInfo, Principal, PrincipalInput } from './principals';
export { profileSecretName, type AmtSettings, type AmtSettingsInput } from './profile-settings';
export type { ProvisioningResult, ResultInput } from './results';
export * from './vocabulary';

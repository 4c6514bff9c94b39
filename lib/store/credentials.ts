import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import { generateAmtPassword } from '../crypto/passwords';
import type { SecretBox } from '../crypto/secret-box';
import { assertDevice } from './devices';
import { parseInput, StoreError } from './errors';
import { idempotencyKeySchema, normaliseDeviceUuid, strongAmtPassword, text } from './fields';
import type { Schema } from './schema';
import type { CredentialsTable } from './tables/core';
import { inTransaction } from './transaction';
import { CREDENTIAL_KINDS, type CredentialKind, type CredentialStatus } from './vocabulary';

/** Names one version of one device credential; safe to carry in workflow history (law 2). */
export interface CredentialRef {
  device: string;
  kind: CredentialKind;
  version: number;
}

/** A credential's record without its value. */
export interface Credential extends CredentialRef {
  status: CredentialStatus;
  username: string | null;
  idempotencyKey: string;
  createdAt: Date;
  statusChangedAt: Date;
}

/** A Digest account from the configuration (OOB6), tried after the device's own credentials. */
export interface ProvisioningAccount {
  name: string;
  username: string;
  password: string;
}

/** What a Digest candidate refers to: a stored credential version or a configured account by name. */
export type CandidateRef = CredentialRef | { account: string };

export interface DigestCandidate {
  ref: CandidateRef;
  username: string;
  origin: 'current' | 'pending' | 'retired' | 'mebx' | 'provisioning_account';
}

/** The AMT admin account's factory name; a stored admin credential without a user name uses it. */
export const DEFAULT_ADMIN_USERNAME = 'admin';

/** Generated lengths: AMT takes 8–32 characters; the directory account's password only feeds Kerberos. */
const GENERATED_LENGTH: Record<CredentialKind, number> = { amt_admin: 16, mebx: 16, directory_account: 32 };

const valueSchemas: Record<CredentialKind, z.ZodType<string>> = {
  amt_admin: strongAmtPassword,
  mebx: strongAmtPassword,
  directory_account: text(8, 256),
};

const stageOptionsSchema = z.strictObject({
  username: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/, 'must be 1–64 printable ASCII characters')
    .optional(),
});

export function describeCandidate(ref: CandidateRef): string {
  return 'account' in ref ? `provisioning account "${ref.account}"` : `${ref.kind} v${ref.version} of ${ref.device}`;
}

export const credentialAssociatedData = (ref: CredentialRef) => `credential:${ref.device}:${ref.kind}:${ref.version}`;

function toCredential(row: Selectable<CredentialsTable>): Credential {
  return {
    device: row.device,
    kind: row.kind,
    version: row.version,
    status: row.status,
    username: row.username,
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    statusChangedAt: row.status_changed_at,
  };
}

function parseKind(kind: CredentialKind): CredentialKind {
  return parseInput(z.enum(CREDENTIAL_KINDS), kind, 'credential kind');
}

function parseRef(ref: CredentialRef): CredentialRef {
  return {
    device: normaliseDeviceUuid(ref.device),
    kind: parseKind(ref.kind),
    version: parseInput(z.number().int().positive(), ref.version, 'credential version'),
  };
}

/**
 * The write-ahead credential store (law 3; peers.md §0.2: the peers set a password on the device
 * first and store it afterwards, and lose it when they crash in between).
 *
 *   stagePending  → commit a new value as `pending`, BEFORE the device call that sets it
 *   promote       → the device accepted it: `current`; the previous current becomes `retired`
 *   discard       → the device definitely refused it
 *
 * Every change of a device's credentials holds that device's row lock, so stages and promotions
 * for one device are serialised and never lose or duplicate a version. Values are sealed with the
 * SecretBox under associated data naming device, kind and version; the key is not in the database.
 */
export function credentialRepository(db: Kysely<Schema>, box: SecretBox) {
  async function find(trx: Kysely<Schema>, ref: CredentialRef): Promise<Selectable<CredentialsTable>> {
    const row = await trx
      .selectFrom('credentials')
      .selectAll()
      .where('device', '=', ref.device)
      .where('kind', '=', ref.kind)
      .where('version', '=', ref.version)
      .executeTakeFirst();
    if (!row) throw new StoreError('CREDENTIAL_NOT_FOUND', `no credential ${describeCandidate(ref)}`);
    return row;
  }

  function open(row: Selectable<CredentialsTable>): string {
    return box.openText(row.sealed, credentialAssociatedData(row));
  }

  async function setStatus(trx: Kysely<Schema>, ref: CredentialRef, status: CredentialStatus): Promise<Credential> {
    const row = await trx
      .updateTable('credentials')
      .set({ status, status_changed_at: sql<Date>`now()` })
      .where('device', '=', ref.device)
      .where('kind', '=', ref.kind)
      .where('version', '=', ref.version)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCredential(row);
  }

  return {
    /**
     * Commits a new `pending` value for `kind` — generated, or `value` when the caller has one (the
     * MEBx password a profile configures) — and returns its reference. Call it before the device
     * call that sets the value. The same idempotency key returns the same version (and refuses a
     * different value), so a retried activity never creates a second password.
     */
    async stagePending(
      device: string,
      kind: CredentialKind,
      idempotencyKey: string,
      options: { value?: string; username?: string } = {},
    ): Promise<Credential & { created: boolean }> {
      const uuid = normaliseDeviceUuid(device);
      const k = parseKind(kind);
      const key = parseInput(idempotencyKeySchema, idempotencyKey, 'idempotency key');
      const { username } = parseInput(stageOptionsSchema, { username: options.username }, `${k} credential`);
      if (options.value !== undefined) parseInput(valueSchemas[k], options.value, `${k} credential value`);
      return inTransaction(db, async (trx) => {
        await assertDevice(trx, uuid, true);
        const earlier = await trx
          .selectFrom('credentials')
          .selectAll()
          .where('idempotency_key', '=', key)
          .executeTakeFirst();
        if (earlier) {
          if (earlier.device !== uuid || earlier.kind !== k) {
            throw new StoreError(
              'IDEMPOTENCY_CONFLICT',
              `idempotency key ${key} already staged ${earlier.kind} v${earlier.version} of ${earlier.device}`,
            );
          }
          if (options.value !== undefined && open(earlier) !== options.value) {
            throw new StoreError(
              'IDEMPOTENCY_CONFLICT',
              `idempotency key ${key} already staged ${k} v${earlier.version} of ${uuid} with another value`,
            );
          }
          return { ...toCredential(earlier), created: false };
        }
        const { latest } = await trx
          .selectFrom('credentials')
          .select(sql<number>`coalesce(max(version), 0)`.as('latest'))
          .where('device', '=', uuid)
          .where('kind', '=', k)
          .executeTakeFirstOrThrow();
        const ref = { device: uuid, kind: k, version: Number(latest) + 1 };
        const value = options.value ?? generateAmtPassword(GENERATED_LENGTH[k]);
        const row = await trx
          .insertInto('credentials')
          .values({
            ...ref,
            status: 'pending',
            username: username ?? (k === 'amt_admin' ? DEFAULT_ADMIN_USERNAME : null),
            sealed: box.seal(value, credentialAssociatedData(ref)),
            idempotency_key: key,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return { ...toCredential(row), created: true };
      });
    },

    /**
     * The device accepted `ref`: it becomes `current`, and in the same transaction the previous
     * current and any older pending versions become `retired` (they stay Digest candidates). Newer
     * pending versions stay pending: their device calls may still be in flight. Promoting the
     * current version again is a no-op, so a retried activity succeeds.
     */
    async promote(ref: CredentialRef): Promise<Credential> {
      const target = parseRef(ref);
      return inTransaction(db, async (trx) => {
        await assertDevice(trx, target.device, true);
        const row = await find(trx, target);
        if (row.status === 'current') return toCredential(row);
        if (row.status !== 'pending') {
          throw new StoreError(
            'CREDENTIAL_NOT_PENDING',
            `cannot promote ${describeCandidate(target)}: it is ${row.status}, not pending`,
          );
        }
        await trx
          .updateTable('credentials')
          .set({ status: 'retired', status_changed_at: sql<Date>`now()` })
          .where('device', '=', target.device)
          .where('kind', '=', target.kind)
          .where((eb) =>
            eb.or([
              eb('status', '=', 'current'),
              eb.and([eb('status', '=', 'pending'), eb('version', '<', target.version)]),
            ]),
          )
          .execute();
        return setStatus(trx, target, 'current');
      });
    },

    /**
     * The device definitely refused `ref` (it answered with an error, so it cannot hold the value).
     * The row stays, out of the candidate list. Discarding again is a no-op.
     */
    async discard(ref: CredentialRef): Promise<Credential> {
      const target = parseRef(ref);
      return inTransaction(db, async (trx) => {
        await assertDevice(trx, target.device, true);
        const row = await find(trx, target);
        if (row.status === 'discarded') return toCredential(row);
        if (row.status !== 'pending') {
          throw new StoreError(
            'CREDENTIAL_NOT_PENDING',
            `cannot discard ${describeCandidate(target)}: it is ${row.status}, not pending`,
          );
        }
        return setStatus(trx, target, 'discarded');
      });
    },

    /** The current version of `kind`, if the device has accepted one. */
    async current(device: string, kind: CredentialKind): Promise<Credential | undefined> {
      const row = await db
        .selectFrom('credentials')
        .selectAll()
        .where('device', '=', normaliseDeviceUuid(device))
        .where('kind', '=', parseKind(kind))
        .where('status', '=', 'current')
        .executeTakeFirst();
      return row && toCredential(row);
    },

    /** Every version the device has (newest first), without values. */
    async list(device: string, kind?: CredentialKind): Promise<Credential[]> {
      let query = db
        .selectFrom('credentials')
        .selectAll()
        .where('device', '=', normaliseDeviceUuid(device))
        .orderBy('kind')
        .orderBy('version', 'desc');
      if (kind !== undefined) query = query.where('kind', '=', parseKind(kind));
      return (await query.execute()).map(toCredential);
    },

    /**
     * The order in which to try Digest logins (OOB6, law 3): the current admin password, the pending
     * ones, the retired ones (each newest first), then the configured provisioning accounts. A pending
     * value is what a crash between the device call and `promote` leaves behind. `retiredLimit` caps
     * the retired ones, since failed logins count towards the firmware's lock-out.
     */
    async digestCandidates(
      device: string,
      provisioningAccounts: readonly Pick<ProvisioningAccount, 'name' | 'username'>[],
      options: { retiredLimit?: number } = {},
    ): Promise<DigestCandidate[]> {
      const rows = await db
        .selectFrom('credentials')
        .select(['device', 'kind', 'version', 'status', 'username'])
        .where('device', '=', normaliseDeviceUuid(device))
        .where('kind', 'in', ['amt_admin', 'mebx'])
        .where('status', 'in', ['current', 'pending', 'retired'])
        .orderBy('version', 'desc')
        .execute();
      const admin = rows.filter((row) => row.kind === 'amt_admin');
      const stored = (origin: 'current' | 'pending' | 'retired') =>
        admin
          .filter((row) => row.status === origin)
          .map((row): DigestCandidate => ({
            ref: { device: row.device, kind: row.kind, version: row.version },
            username: row.username ?? DEFAULT_ADMIN_USERNAME,
            origin,
          }));
      return [
        ...stored('current'),
        ...stored('pending'),
        ...stored('retired').slice(0, options.retiredLimit),
        // In setup mode (remote configuration, and the coupled password model of AMT before 6.0)
        // the firmware's `admin` password is its MEBx password, which a full unprovision keeps:
        // the one amtflow set earlier is the likely one after a removal.
        ...rows
          .filter((row) => row.kind === 'mebx' && row.status === 'current')
          .map((row): DigestCandidate => ({
            ref: { device: row.device, kind: row.kind, version: row.version },
            username: DEFAULT_ADMIN_USERNAME,
            origin: 'mebx',
          })),
        ...provisioningAccounts.map((account): DigestCandidate => ({
          ref: { account: account.name },
          username: account.username,
          origin: 'provisioning_account',
        })),
      ];
    },

    /**
     * Opens the value `ref` names, for the activity that must send it. A provisioning account's
     * password comes from `provisioningAccounts` (the configuration), never from the database.
     */
    async reveal(ref: CandidateRef, provisioningAccounts: readonly ProvisioningAccount[] = []): Promise<string> {
      if ('account' in ref) {
        const account = provisioningAccounts.find((a) => a.name === ref.account);
        if (!account) {
          throw new StoreError('PROVISIONING_ACCOUNT_NOT_FOUND', `no provisioning account named "${ref.account}"`);
        }
        return account.password;
      }
      return open(await find(db, parseRef(ref)));
    },
  };
}

export type CredentialRepository = ReturnType<typeof credentialRepository>;

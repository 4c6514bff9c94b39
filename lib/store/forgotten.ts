import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import { parseInput, StoreError } from './errors';
import { deviceUuidSchema, idempotencyKeySchema, normaliseDeviceUuid, text } from './fields';
import type { Schema } from './schema';
import type { ForgottenDevicesTable } from './tables/forgotten';
import { inTransaction } from './transaction';
import { FORGET_REASONS, type ForgetReason } from './vocabulary';

/** What stays of a forgotten device: who forgot it, when and why (0010_forgotten_devices.sql). */
export interface ForgottenDevice {
  device: string;
  fqdn: string;
  collection: string | null;
  reason: ForgetReason;
  note: string | null;
  forgottenBy: string;
  workflowId: string;
  forgottenAt: Date;
}

/** Rows removed per table, for the audit entry. */
export type ForgetCounts = Record<
  | 'credentials'
  | 'certificateKeys'
  | 'directoryObjects'
  | 'contacts'
  | 'identityConflicts'
  | 'agentCredentials'
  | 'otpHashes'
  | 'results'
  | 'collectionActionResults'
  | 'redirectionSessions'
  | 'discoveredAddressesUnlinked',
  number
>;

/** What an operator says when forgetting a device; the API validates it before the run starts. */
export const forgetRequestSchema = z.strictObject({
  reason: z.enum(FORGET_REASONS),
  note: text(1, 1024).optional(),
});

const forgetSchema = forgetRequestSchema.extend({
  device: deviceUuidSchema,
  by: text(1, 256),
  workflowId: text(1, 300),
  idempotencyKey: idempotencyKeySchema,
});
export type ForgetInput = z.input<typeof forgetSchema>;

function toForgotten(row: Selectable<ForgottenDevicesTable>): ForgottenDevice {
  return {
    device: row.device,
    fqdn: row.fqdn,
    collection: row.collection,
    reason: row.reason,
    note: row.note,
    forgottenBy: row.forgotten_by,
    workflowId: row.workflow_id,
    forgottenAt: row.forgotten_at,
  };
}

const count = (result: { numDeletedRows?: bigint; numUpdatedRows?: bigint } | undefined) =>
  Number(result?.numDeletedRows ?? result?.numUpdatedRows ?? 0n);

/** The tables whose rows belong to one device by their `device` column. */
type DeviceTable =
  | 'credentials'
  | 'directory_objects'
  | 'device_contacts'
  | 'device_identity_conflicts'
  | 'agent_credentials'
  | 'otp_hashes'
  | 'provisioning_results'
  | 'collection_action_results'
  | 'redirection_sessions';

/**
 * Forgetting a device that is gone (issue 11 §2). The certificates were revoked and the directory
 * object deleted by the steps before; this removes the rest from the site database in one
 * transaction, so a device is either known with all its records or forgotten with none.
 *
 * Removed: the device, its credentials (sealed AMT admin, MEBx and directory-account passwords —
 * nobody can reveal them afterwards; a device that comes back must be reset at its MEBx), the sealed
 * private keys of its certificates, its contact and trust records (address, hellos, identity
 * conflicts, the in-band agent's credential), OTP hashes, run results, collection-action results and
 * console session records. Kept: the audit log, the certificate records (revoked, the CRL lists
 * them), discovered addresses (unlinked from the device) and the `forgotten_devices` row.
 */
export function forgottenRepository(db: Kysely<Schema>) {
  return {
    /**
     * Forgets the device; a retry under the same idempotency key finds the row it wrote and returns
     * it with `counts` undefined. DEVICE_NOT_FOUND when the device is not known (nor forgotten by this key).
     */
    async forget(input: ForgetInput): Promise<{ forgotten: ForgottenDevice; counts?: ForgetCounts }> {
      const f = parseInput(forgetSchema, input, 'device to forget');
      return inTransaction(db, async (trx) => {
        const earlier = await trx
          .selectFrom('forgotten_devices')
          .selectAll()
          .where('idempotency_key', '=', f.idempotencyKey)
          .executeTakeFirst();
        if (earlier) return { forgotten: toForgotten(earlier) };
        const device = await trx
          .selectFrom('devices')
          .select(['uuid', 'fqdn', 'collection'])
          .where('uuid', '=', f.device)
          .forUpdate()
          .executeTakeFirst();
        if (!device) throw new StoreError('DEVICE_NOT_FOUND', `device ${f.device} is not known to amtflow`);
        const row = await trx
          .insertInto('forgotten_devices')
          .values({
            device: f.device,
            fqdn: device.fqdn,
            collection: device.collection,
            reason: f.reason,
            note: f.note ?? null,
            forgotten_by: f.by,
            workflow_id: f.workflowId,
            idempotency_key: f.idempotencyKey,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        // The credentials guard lets this transaction, and only for this device, delete them.
        await sql`select set_config('amtflow.forget', ${f.device}, true)`.execute(trx);
        // Table names are constants of this module, never input.
        const byDevice = async (table: DeviceTable) =>
          Number(
            (await sql`delete from ${sql.table(table)} where device = ${f.device}`.execute(trx)).numAffectedRows ?? 0n,
          );
        const counts: ForgetCounts = {
          credentials: await byDevice('credentials'),
          certificateKeys: count(
            await trx
              .deleteFrom('certificate_private_keys')
              .where(
                'serial',
                'in',
                trx.selectFrom('certificates').select('serial').where('device_uuid', '=', f.device),
              )
              .executeTakeFirst(),
          ),
          directoryObjects: await byDevice('directory_objects'),
          contacts: await byDevice('device_contacts'),
          identityConflicts: await byDevice('device_identity_conflicts'),
          agentCredentials: await byDevice('agent_credentials'),
          otpHashes: await byDevice('otp_hashes'),
          results: await byDevice('provisioning_results'),
          collectionActionResults: await byDevice('collection_action_results'),
          redirectionSessions: await byDevice('redirection_sessions'),
          discoveredAddressesUnlinked: count(
            await trx
              .updateTable('discovered_addresses')
              .set({ device: null })
              .where('device', '=', f.device)
              .executeTakeFirst(),
          ),
        };
        await trx.deleteFrom('devices').where('uuid', '=', f.device).execute();
        return { forgotten: toForgotten(row), counts };
      });
    },

    /** Every time the device was forgotten, newest first. */
    async forDevice(device: string): Promise<ForgottenDevice[]> {
      const rows = await db
        .selectFrom('forgotten_devices')
        .selectAll()
        .where('device', '=', normaliseDeviceUuid(device))
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toForgotten);
    },
  };
}

import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import { assertDevice } from './devices';
import { StoreError, parseInput } from './errors';
import { normaliseDeviceUuid } from './fields';
import type { Schema } from './schema';
import type { DirectoryObjectsTable } from './tables/core';
import { inTransaction } from './transaction';
import { DIRECTORY_OBJECT_STATUSES, type DirectoryObjectStatus } from './vocabulary';

/** The AMT account of a device in the directory (I3, I4). Its password is a `directory_account` credential. */
export interface DirectoryObject {
  device: string;
  dn: string;
  spns: string[];
  windowsComputerDn: string | null;
  /** Key version number of the account's Kerberos key, as the directory reports it. */
  keyVersion: number | null;
  status: DirectoryObjectStatus;
  /** I5: DNs of the security groups amtflow joined the account to; removal leaves exactly these. */
  securityGroups: string[];
  createdAt: Date;
  updatedAt: Date;
}

const directoryObjectSchema = z.strictObject({
  dn: z.string().min(3).max(2048),
  spns: z.array(z.string().regex(/^[^\s/]+\/[^\s]+$/, 'must be a service principal name such as HTTP/host:16993')),
  windowsComputerDn: z.string().min(3).max(2048).nullable(),
  keyVersion: z.number().int().min(0).nullable(),
  status: z.enum(DIRECTORY_OBJECT_STATUSES),
});
export type DirectoryObjectInput = z.input<typeof directoryObjectSchema>;

function toDirectoryObject(row: Selectable<DirectoryObjectsTable>): DirectoryObject {
  return {
    device: row.device,
    dn: row.dn,
    spns: row.spns,
    windowsComputerDn: row.windows_computer_dn,
    keyVersion: row.key_version,
    status: row.status,
    securityGroups: row.security_groups,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * One row per device: what amtflow has published, or is about to publish (`pending` is written
 * before the directory write so that compensation after a crash knows what may exist there).
 */
export function directoryObjectRepository(db: Kysely<Schema>) {
  return {
    /** Records the device's AMT account as it now stands; saving the same record again changes nothing. */
    async save(device: string, input: DirectoryObjectInput): Promise<DirectoryObject> {
      const uuid = normaliseDeviceUuid(device);
      const o = parseInput(directoryObjectSchema, input, `directory object of ${uuid}`);
      const values = {
        dn: o.dn,
        spns: o.spns,
        windows_computer_dn: o.windowsComputerDn,
        key_version: o.keyVersion,
        status: o.status,
      };
      return inTransaction(db, async (trx) => {
        await assertDevice(trx, uuid);
        const row = await trx
          .insertInto('directory_objects')
          .values({ device: uuid, ...values })
          .onConflict((oc) => oc.column('device').doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
          .returningAll()
          .executeTakeFirstOrThrow();
        return toDirectoryObject(row);
      });
    },

    /**
     * I5: sets the groups amtflow holds the account in (a plain value: a retry writes the same).
     * Throws when the device has no directory object recorded.
     */
    async setSecurityGroups(device: string, groupDns: readonly string[]): Promise<void> {
      const uuid = normaliseDeviceUuid(device);
      const updated = await db
        .updateTable('directory_objects')
        .set({ security_groups: [...groupDns], updated_at: sql<Date>`now()` })
        .where('device', '=', uuid)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n)
        throw new StoreError('DIRECTORY_OBJECT_NOT_FOUND', `device ${uuid} has no directory object recorded`);
    },

    async get(device: string): Promise<DirectoryObject | undefined> {
      const row = await db
        .selectFrom('directory_objects')
        .selectAll()
        .where('device', '=', normaliseDeviceUuid(device))
        .executeTakeFirst();
      return row && toDirectoryObject(row);
    },
  };
}

export type DirectoryObjectRepository = ReturnType<typeof directoryObjectRepository>;

import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import { isPlaceholderUuid, type DeviceUuid } from '../device-uuid';
import { parseInput, StoreError } from './errors';
import { deviceUuidSchema, normaliseDeviceUuid, text } from './fields';
import type { Schema } from './schema';
import type { DevicesTable } from './tables/core';
import { inTransaction } from './transaction';
import { DISCOVERY_STATUSES, PROVISIONING_STATES, type DiscoveryStatus, type ProvisioningState } from './vocabulary';

export interface Device {
  uuid: DeviceUuid;
  hostName: string;
  domain: string;
  /** Lower-cased `hostName.domain`, maintained by the database. */
  fqdn: string;
  windowsComputerDn: string | null;
  amtVersion: string | null;
  discoveryStatus: DiscoveryStatus;
  /** When discovery last determined `discoveryStatus` (OPS1); null before the first sweep. */
  discoverySeenAt: Date | null;
  provisioningState: ProvisioningState;
  provisioningStage: string | null;
  /** The device's own switch (DEP3/REN3); see `automaticProvisioning` for the effective value. */
  automaticProvisioningEnabled: boolean;
  collection: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A DNS label: what AMT accepts as its host name, and nothing that could bend an LDAP filter or DN. */
const hostNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'must be a DNS label (letters, digits, hyphens; 1–63)');
const domainSchema = z
  .string()
  .max(253)
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/,
    'must be a DNS domain name',
  );
const distinguishedNameSchema = z.string().min(3).max(2048);
const amtVersionSchema = z.string().regex(/^\d{1,3}(\.\d{1,5}){0,3}$/, 'must be a version such as 3.2.1 or 11.8.50');
const collectionNameSchema = text(1, 128);

const importSchema = z.strictObject({
  uuid: deviceUuidSchema,
  hostName: hostNameSchema,
  domain: domainSchema,
  windowsComputerDn: distinguishedNameSchema.optional(),
  collection: collectionNameSchema.optional(),
});
export type ImportComputer = z.input<typeof importSchema>;

const patchSchema = z.strictObject({
  hostName: hostNameSchema.optional(),
  domain: domainSchema.optional(),
  windowsComputerDn: distinguishedNameSchema.nullable().optional(),
  amtVersion: amtVersionSchema.nullable().optional(),
  discoveryStatus: z.enum(DISCOVERY_STATUSES).optional(),
  provisioningState: z.enum(PROVISIONING_STATES).optional(),
  provisioningStage: text(1, 64).nullable().optional(),
  collection: collectionNameSchema.nullable().optional(),
});
export type DevicePatch = z.input<typeof patchSchema>;

const searchSchema = z.strictObject({
  collections: z.union([z.literal('all'), z.array(z.string())]),
  collection: collectionNameSchema.optional(),
  provisioningState: z.enum(PROVISIONING_STATES).optional(),
  discoveryStatus: z.enum(DISCOVERY_STATUSES).optional(),
  amtVersion: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,5}){0,3}$/, 'must be a version or its prefix, such as 11 or 11.8.50')
    .optional(),
  text: text(1, 253).optional(),
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0),
});
export type DeviceSearch = z.input<typeof searchSchema>;

export interface AutomaticProvisioning {
  /** Whether a hello or an agent report from this device may start provisioning by itself. */
  enabled: boolean;
  deviceEnabled: boolean;
  collection: string | null;
  collectionEnabled: boolean;
  settingsProfile: string | null;
}

function toDevice(row: Selectable<DevicesTable>): Device {
  return {
    // Written only through normaliseDeviceUuid: the column holds canonical UUIDs.
    uuid: row.uuid as DeviceUuid,
    hostName: row.host_name,
    domain: row.domain,
    fqdn: row.fqdn,
    windowsComputerDn: row.windows_computer_dn,
    amtVersion: row.amt_version,
    discoveryStatus: row.discovery_status,
    discoverySeenAt: row.discovery_seen_at,
    provisioningState: row.provisioning_state,
    provisioningStage: row.provisioning_stage,
    automaticProvisioningEnabled: row.automatic_provisioning_enabled,
    collection: row.collection,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const deviceNotFound = (uuid: string) => new StoreError('DEVICE_NOT_FOUND', `no device with UUID ${uuid}`);

/**
 * Fails with DEVICE_NOT_FOUND unless the device exists. With `lock`, also takes the device's row lock
 * for the rest of the transaction: the lock that serialises credential changes of one device.
 */
export async function assertDevice(db: Kysely<Schema>, uuid: string, lock = false): Promise<void> {
  let query = db.selectFrom('devices').select('uuid').where('uuid', '=', uuid);
  if (lock) query = query.forNoKeyUpdate();
  if (!(await query.executeTakeFirst())) throw deviceNotFound(uuid);
}

/** Devices known to amtflow. A hello from a UUID not here is discarded (OOB2). */
export function deviceRepository(db: Kysely<Schema>) {
  async function get(uuid: string): Promise<Device | undefined> {
    const row = await db
      .selectFrom('devices')
      .selectAll()
      .where('uuid', '=', normaliseDeviceUuid(uuid))
      .executeTakeFirst();
    return row && toDevice(row);
  }

  async function require(uuid: string): Promise<Device> {
    const device = await get(uuid);
    if (!device) throw deviceNotFound(normaliseDeviceUuid(uuid));
    return device;
  }

  async function assertCollectionExists(trx: Kysely<Schema>, collection: string | null | undefined): Promise<void> {
    if (collection == null) return;
    const found = await trx.selectFrom('collections').select('name').where('name', '=', collection).executeTakeFirst();
    if (!found) throw new StoreError('COLLECTION_NOT_FOUND', `no collection named "${collection}"`);
  }

  return {
    get,
    require,

    /**
     * "Import computer for out of band management" (OOB2): UUID, host name, domain. Importing the same
     * computer again changes nothing; importing a known UUID under another name is refused, since a
     * rename goes through the rename flow (REN1).
     */
    async importComputer(input: ImportComputer): Promise<{ device: Device; created: boolean }> {
      const computer = parseInput(importSchema, input, 'computer to import');
      if (isPlaceholderUuid(computer.uuid)) {
        throw new StoreError(
          'PLACEHOLDER_DEVICE_UUID',
          `${computer.uuid} is a placeholder UUID many computers share (an OEM image's SMBIOS table): ` +
            'give the computer its own UUID before importing it',
        );
      }
      return inTransaction(db, async (trx) => {
        await assertCollectionExists(trx, computer.collection);
        const inserted = await trx
          .insertInto('devices')
          .values({
            uuid: computer.uuid,
            host_name: computer.hostName,
            domain: computer.domain,
            windows_computer_dn: computer.windowsComputerDn ?? null,
            collection: computer.collection ?? null,
          })
          .onConflict((oc) => oc.column('uuid').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted) return { device: toDevice(inserted), created: true };
        const existing = toDevice(
          await trx.selectFrom('devices').selectAll().where('uuid', '=', computer.uuid).executeTakeFirstOrThrow(),
        );
        if (existing.fqdn !== `${computer.hostName}.${computer.domain}`.toLowerCase()) {
          throw new StoreError(
            'DEVICE_ALREADY_IMPORTED',
            `device ${computer.uuid} is already imported as ${existing.fqdn}; rename it with the rename flow`,
          );
        }
        return { device: existing, created: false };
      });
    },

    async list(filter: { collection?: string; discoveryStatus?: DiscoveryStatus } = {}): Promise<Device[]> {
      let query = db.selectFrom('devices').selectAll().orderBy('fqdn').orderBy('uuid');
      if (filter.collection !== undefined) query = query.where('collection', '=', filter.collection);
      if (filter.discoveryStatus !== undefined) query = query.where('discovery_status', '=', filter.discoveryStatus);
      return (await query.execute()).map(toDevice);
    },

    /**
     * The inventory (issue 11 §2): devices matching every filter given, ordered by FQDN then UUID,
     * one page at a time. `collections` limits the search to what the caller may view (`'all'`
     * includes devices in no collection); `text` matches anywhere in the FQDN, case-insensitively;
     * `amtVersion` matches a version or its prefix (`11` finds 11.8.50). `total` counts every match.
     */
    async search(filter: DeviceSearch): Promise<{ devices: Device[]; total: number }> {
      const f = parseInput(searchSchema, filter, 'device search');
      if (f.collections !== 'all' && f.collections.length === 0) return { devices: [], total: 0 };
      let query = db.selectFrom('devices');
      if (f.collections !== 'all') query = query.where('collection', 'in', f.collections);
      if (f.collection !== undefined) query = query.where('collection', '=', f.collection);
      if (f.provisioningState !== undefined) query = query.where('provisioning_state', '=', f.provisioningState);
      if (f.discoveryStatus !== undefined) query = query.where('discovery_status', '=', f.discoveryStatus);
      if (f.amtVersion !== undefined)
        query = query.where((eb) =>
          eb.or([eb('amt_version', '=', f.amtVersion as string), eb('amt_version', 'like', `${f.amtVersion}.%`)]),
        );
      if (f.text !== undefined)
        query = query.where('fqdn', 'like', `%${f.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      const count = await query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      const rows = await query.selectAll().orderBy('fqdn').orderBy('uuid').limit(f.limit).offset(f.offset).execute();
      return { devices: rows.map(toDevice), total: Number(count.n) };
    },

    /**
     * OPS4: devices counted by collection, management-controller status (OPS1 discovery status),
     * provisioning state and AMT version, over the collections given (`'all'`: devices in none too).
     */
    async summary(collections: 'all' | string[]): Promise<
      Array<{
        collection: string | null;
        discoveryStatus: DiscoveryStatus;
        provisioningState: ProvisioningState;
        amtVersion: string | null;
        count: number;
      }>
    > {
      if (collections !== 'all' && collections.length === 0) return [];
      let query = db
        .selectFrom('devices')
        .select([
          'collection',
          'discovery_status',
          'provisioning_state',
          'amt_version',
          (eb) => eb.fn.countAll<string>().as('n'),
        ])
        .groupBy(['collection', 'discovery_status', 'provisioning_state', 'amt_version'])
        .orderBy('collection')
        .orderBy('discovery_status')
        .orderBy('provisioning_state')
        .orderBy('amt_version');
      if (collections !== 'all') query = query.where('collection', 'in', collections);
      return (await query.execute()).map((r) => ({
        collection: r.collection,
        discoveryStatus: r.discovery_status,
        provisioningState: r.provisioning_state,
        amtVersion: r.amt_version,
        count: Number(r.n),
      }));
    },

    /** Devices by provisioning state (metrics). */
    async countByState(): Promise<Array<{ state: ProvisioningState; count: number }>> {
      const rows = await db
        .selectFrom('devices')
        .select(['provisioning_state', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy('provisioning_state')
        .orderBy('provisioning_state')
        .execute();
      return rows.map((r) => ({ state: r.provisioning_state, count: Number(r.n) }));
    },

    async findByFqdn(fqdn: string): Promise<Device[]> {
      const rows = await db.selectFrom('devices').selectAll().where('fqdn', '=', fqdn.toLowerCase()).execute();
      return rows.map(toDevice);
    },

    /** Sets the given fields; each is a plain value, so a retried call has the same effect. */
    async update(uuid: string, patch: DevicePatch): Promise<Device> {
      const device = normaliseDeviceUuid(uuid);
      const p = parseInput(patchSchema, patch, `update of device ${device}`);
      return inTransaction(db, async (trx) => {
        await assertCollectionExists(trx, p.collection);
        const row = await trx
          .updateTable('devices')
          .set({
            host_name: p.hostName,
            domain: p.domain,
            windows_computer_dn: p.windowsComputerDn,
            amt_version: p.amtVersion,
            discovery_status: p.discoveryStatus,
            provisioning_state: p.provisioningState,
            provisioning_stage: p.provisioningStage,
            collection: p.collection,
            updated_at: sql<Date>`now()`,
          })
          .where('uuid', '=', device)
          .returningAll()
          .executeTakeFirst();
        if (!row) throw deviceNotFound(device);
        return toDevice(row);
      });
    },

    /**
     * The per-device automatic-provisioning switch: off while a device is removed for a rename or
     * domain move (REN3) or when the operator says so (DEP3), on again afterwards.
     */
    async setAutomaticProvisioning(uuid: string, enabled: boolean): Promise<Device> {
      const device = normaliseDeviceUuid(uuid);
      const row = await db
        .updateTable('devices')
        .set({ automatic_provisioning_enabled: enabled, updated_at: sql<Date>`now()` })
        .where('uuid', '=', device)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw deviceNotFound(device);
      return toDevice(row);
    },

    /** Effective automatic provisioning: the device's switch and its collection's flag (DEP3). */
    async automaticProvisioning(uuid: string): Promise<AutomaticProvisioning> {
      const device = normaliseDeviceUuid(uuid);
      const row = await db
        .selectFrom('devices')
        .leftJoin('collections', 'collections.name', 'devices.collection')
        .select([
          'devices.automatic_provisioning_enabled as deviceEnabled',
          'devices.collection as collection',
          'collections.automatic_provisioning as collectionEnabled',
          'collections.settings_profile as settingsProfile',
        ])
        .where('devices.uuid', '=', device)
        .executeTakeFirst();
      if (!row) throw deviceNotFound(device);
      const collectionEnabled = row.collectionEnabled ?? false;
      return {
        enabled: row.deviceEnabled && collectionEnabled,
        deviceEnabled: row.deviceEnabled,
        collection: row.collection,
        collectionEnabled,
        settingsProfile: row.settingsProfile ?? null,
      };
    },
  };
}

export type DeviceRepository = ReturnType<typeof deviceRepository>;

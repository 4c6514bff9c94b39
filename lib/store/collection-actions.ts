import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { DeviceUuid } from '../device-uuid';
import { parseInput } from './errors';
import { deviceUuidSchema, text } from './fields';
import type { Schema } from './schema';
import { inTransaction } from './transaction';
import {
  ACTION_RESULT_LIMITS,
  ACTION_RESULT_STATUSES,
  PROVISIONING_STATES,
  type ActionResultStatus,
} from './vocabulary';

/**
 * The devices a collection action works on, and what became of each (issue 11 §3–§4). A selector
 * names devices by what the site database knows; the action reads it page by page, in UUID order,
 * so 10,000 devices never sit in one workflow payload and a continued run picks up after the last
 * UUID it handled.
 */

/**
 * - `devices`: a collection and/or a filter (provisioning states, explicit UUIDs); `automatic` keeps
 *   only devices whose effective automatic provisioning is on (DEP3) and that have said hello.
 * - `certificates-expiring`: provisioned devices whose current AMT web-server certificate expires
 *   within `withinDays` days of `now` (certificate renewal).
 * - `admin-password-older-than`: provisioned devices whose current AMT remote admin password was
 *   set more than `days` days before `now` (password rotation).
 */
export const targetSelectorSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('devices'),
    collection: text(1, 128).optional(),
    provisioningStates: z.array(z.enum(PROVISIONING_STATES)).min(1).optional(),
    deviceUuids: z.array(deviceUuidSchema).min(1).max(10_000).optional(),
    automatic: z.boolean().optional(),
  }),
  z.strictObject({
    kind: z.literal('certificates-expiring'),
    withinDays: z.number().int().min(1).max(3650),
    collection: text(1, 128).optional(),
  }),
  z.strictObject({
    kind: z.literal('admin-password-older-than'),
    days: z.number().int().min(1).max(3650),
    collection: text(1, 128).optional(),
  }),
]);
export type TargetSelector = z.input<typeof targetSelectorSchema>;

export interface ActionResult {
  device: DeviceUuid;
  status: ActionResultStatus;
  workflowId?: string;
  errorCode?: string;
  errorMessage?: string;
}

const resultSchema = z.strictObject({
  device: deviceUuidSchema,
  status: z.enum(ACTION_RESULT_STATUSES),
  workflowId: z.string().min(1).max(300).optional(),
  errorCode: z.string().min(1).max(ACTION_RESULT_LIMITS.errorCode).optional(),
  errorMessage: z.string().max(ACTION_RESULT_LIMITS.errorMessage).optional(),
});
const actionIdSchema = z.string().min(1).max(300);
const pageSchema = z.strictObject({
  after: deviceUuidSchema.optional(),
  limit: z.number().int().min(1).max(1000),
  now: z.date(),
});

const DAY_MS = 86_400_000;

export function collectionActionRepository(db: Kysely<Schema>) {
  return {
    /**
     * The next `limit` device UUIDs the selector names, after `after`, in UUID order. `now` is
     * passed in (a workflow's time) so that a selector with days reads the same on every attempt.
     */
    async targets(selector: TargetSelector, page: { after?: string; limit: number; now: Date }): Promise<DeviceUuid[]> {
      const s = parseInput(targetSelectorSchema, selector, 'target selector');
      const p = parseInput(pageSchema, page, 'target page');
      let query = db.selectFrom('devices').select('devices.uuid').orderBy('devices.uuid').limit(p.limit);
      if (p.after) query = query.where('devices.uuid', '>', p.after);
      if (s.collection !== undefined) query = query.where('devices.collection', '=', s.collection);
      if (s.kind === 'devices') {
        if (s.provisioningStates) query = query.where('devices.provisioning_state', 'in', s.provisioningStates);
        if (s.deviceUuids) query = query.where('devices.uuid', 'in', s.deviceUuids);
        if (s.automatic) {
          query = query
            .innerJoin('collections', 'collections.name', 'devices.collection')
            .where('collections.automatic_provisioning', '=', true)
            .where('devices.automatic_provisioning_enabled', '=', true)
            .where((eb) =>
              eb.exists(eb.selectFrom('device_contacts').select('device').whereRef('device', '=', 'devices.uuid')),
            );
        }
      } else if (s.kind === 'certificates-expiring') {
        const before = new Date(p.now.getTime() + s.withinDays * DAY_MS);
        query = query.where('devices.provisioning_state', '=', 'provisioned').where((eb) =>
          eb.exists(
            eb
              .selectFrom('certificates')
              .select('serial')
              .where('certificates.device_uuid', '=', sql<string>`devices.uuid::text`)
              .where('certificates.template', '=', 'amt-web-server')
              .where('certificates.status', '=', 'issued')
              .where('certificates.not_after', '<', before),
          ),
        );
      } else {
        const before = new Date(p.now.getTime() - s.days * DAY_MS);
        query = query
          .where('devices.provisioning_state', '=', 'provisioned')
          .where((eb) =>
            eb.exists(
              eb
                .selectFrom('credentials')
                .select('credentials.id')
                .whereRef('credentials.device', '=', 'devices.uuid')
                .where('credentials.kind', '=', 'amt_admin')
                .where('credentials.status', '=', 'current')
                .where('credentials.status_changed_at', '<', before),
            ),
          );
      }
      return (await query.execute()).map((row) => row.uuid as DeviceUuid);
    },

    /** Records per-device outcomes; a device's row takes the latest status, so a retry is harmless. */
    async record(actionId: string, results: readonly ActionResult[]): Promise<void> {
      const id = parseInput(actionIdSchema, actionId, 'collection action id');
      const rows = results.map((r) => parseInput(resultSchema, r, `result of ${id}`));
      if (!rows.length) return;
      await inTransaction(db, async (trx) => {
        await trx
          .insertInto('collection_action_results')
          .values(
            rows.map((r) => ({
              action_id: id,
              device: r.device,
              status: r.status,
              workflow_id: r.workflowId ?? null,
              error_code: r.errorCode ?? null,
              error_message: r.errorMessage ?? null,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['action_id', 'device']).doUpdateSet((eb) => ({
              status: eb.ref('excluded.status'),
              workflow_id: eb.ref('excluded.workflow_id'),
              error_code: eb.ref('excluded.error_code'),
              error_message: eb.ref('excluded.error_message'),
              updated_at: sql<Date>`now()`,
            })),
          )
          .execute();
      });
    },

    /** How many devices of the action are in each status. */
    async counts(actionId: string): Promise<Record<ActionResultStatus, number>> {
      const rows = await db
        .selectFrom('collection_action_results')
        .select(['status', sql<string>`count(*)`.as('n')])
        .where('action_id', '=', parseInput(actionIdSchema, actionId, 'collection action id'))
        .groupBy('status')
        .execute();
      const counts = Object.fromEntries(ACTION_RESULT_STATUSES.map((s) => [s, 0])) as Record<
        ActionResultStatus,
        number
      >;
      for (const row of rows) counts[row.status] = Number(row.n);
      return counts;
    },

    /** Per-device results of an action, in UUID order, optionally of one status. */
    async results(
      actionId: string,
      options: { status?: ActionResultStatus; after?: string; limit?: number } = {},
    ): Promise<ActionResult[]> {
      let query = db
        .selectFrom('collection_action_results')
        .selectAll()
        .where('action_id', '=', parseInput(actionIdSchema, actionId, 'collection action id'))
        .orderBy('device')
        .limit(Math.min(options.limit ?? 1000, 10_000));
      if (options.status) query = query.where('status', '=', options.status);
      if (options.after) query = query.where('device', '>', options.after);
      return (await query.execute()).map((row) => ({
        device: row.device as DeviceUuid,
        status: row.status,
        ...(row.workflow_id ? { workflowId: row.workflow_id } : {}),
        ...(row.error_code ? { errorCode: row.error_code } : {}),
        ...(row.error_message ? { errorMessage: row.error_message } : {}),
      }));
    },
  };
}

export type CollectionActionRepository = ReturnType<typeof collectionActionRepository>;

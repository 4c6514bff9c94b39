import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import { parseInput, StoreError } from './errors';
import { assertDevice } from './devices';
import { deviceUuidSchema, idempotencyKeySchema, normaliseDeviceUuid } from './fields';
import type { Schema } from './schema';
import type { ProvisioningResultsTable } from './tables/core';
import { inTransaction } from './transaction';
import { LIFECYCLE_OPERATIONS, RESULT_OUTCOMES, type LifecycleOperation, type ResultOutcome } from './vocabulary';

/** What a lifecycle run reported at its end (OOB10, IB11). Secret-free: credentials are referenced by version. */
export interface ProvisioningResult {
  id: string;
  device: string;
  operation: LifecycleOperation;
  workflowId: string;
  outcome: ResultOutcome;
  stageReached: string | null;
  summary: string;
  details: Record<string, unknown>;
  startedAt: Date | null;
  finishedAt: Date;
  recordedAt: Date;
}

const resultSchema = z.strictObject({
  device: deviceUuidSchema,
  operation: z.enum(LIFECYCLE_OPERATIONS),
  workflowId: z.string().min(1).max(300),
  outcome: z.enum(RESULT_OUTCOMES),
  stageReached: z.string().min(1).max(64).nullable().default(null),
  summary: z.string().min(1).max(4000),
  details: z.record(z.string(), z.unknown()).default({}),
  startedAt: z.date().nullable().default(null),
  finishedAt: z.date().optional(),
});
export type ResultInput = z.input<typeof resultSchema>;

function toResult(row: Selectable<ProvisioningResultsTable>): ProvisioningResult {
  return {
    id: row.id,
    device: row.device,
    operation: row.operation,
    workflowId: row.workflow_id,
    outcome: row.outcome,
    stageReached: row.stage_reached,
    summary: row.summary,
    details: row.details,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    recordedAt: row.recorded_at,
  };
}

export function resultRepository(db: Kysely<Schema>) {
  return {
    /**
     * Records a run's result once: a retried activity with the same idempotency key gets the first
     * record back (`created: false`); the same key for another device or run is refused.
     */
    async record(
      input: ResultInput,
      idempotencyKey: string,
    ): Promise<{ result: ProvisioningResult; created: boolean }> {
      const r = parseInput(resultSchema, input, 'provisioning result');
      const key = parseInput(idempotencyKeySchema, idempotencyKey, 'idempotency key');
      return inTransaction(db, async (trx) => {
        await assertDevice(trx, r.device);
        const inserted = await trx
          .insertInto('provisioning_results')
          .values({
            device: r.device,
            operation: r.operation,
            workflow_id: r.workflowId,
            outcome: r.outcome,
            stage_reached: r.stageReached,
            summary: r.summary,
            details: r.details,
            started_at: r.startedAt,
            finished_at: r.finishedAt,
            idempotency_key: key,
          })
          .onConflict((oc) => oc.column('idempotency_key').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted) return { result: toResult(inserted), created: true };
        const earlier = toResult(
          await trx
            .selectFrom('provisioning_results')
            .selectAll()
            .where('idempotency_key', '=', key)
            .executeTakeFirstOrThrow(),
        );
        if (earlier.device !== r.device || earlier.workflowId !== r.workflowId || earlier.operation !== r.operation) {
          throw new StoreError(
            'IDEMPOTENCY_CONFLICT',
            `idempotency key ${key} already recorded ${earlier.operation} of ${earlier.device} by ${earlier.workflowId}`,
          );
        }
        return { result: earlier, created: false };
      });
    },

    /**
     * Runs finished, by operation, outcome and the step reached, optionally since a time (OPS4
     * reports, metrics).
     */
    async countByStep(
      since?: Date,
    ): Promise<Array<{ operation: LifecycleOperation; outcome: ResultOutcome; stage: string | null; count: number }>> {
      let query = db
        .selectFrom('provisioning_results')
        .select(['operation', 'outcome', 'stage_reached', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy(['operation', 'outcome', 'stage_reached'])
        .orderBy('operation')
        .orderBy('outcome')
        .orderBy('stage_reached');
      if (since) query = query.where('finished_at', '>=', since);
      return (await query.execute()).map((r) => ({
        operation: r.operation,
        outcome: r.outcome,
        stage: r.stage_reached,
        count: Number(r.n),
      }));
    },

    /** A device's results, newest first (the per-device history of OPS4 reports). */
    async forDevice(device: string): Promise<ProvisioningResult[]> {
      const uuid = normaliseDeviceUuid(device);
      const rows = await db
        .selectFrom('provisioning_results')
        .selectAll()
        .where('device', '=', uuid)
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toResult);
    },
  };
}

export type ResultRepository = ReturnType<typeof resultRepository>;

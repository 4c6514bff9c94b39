import { isIP } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import { assertDevice } from './devices';
import { parseInput, StoreError } from './errors';
import { idempotencyKeySchema, normaliseDeviceUuid } from './fields';
import type { Schema } from './schema';
import type { OtpHashesTable } from './tables/core';
import { inTransaction } from './transaction';
import { OTP_ALGORITHMS, type OtpAlgorithm } from './vocabulary';

/** An agent's OTP report (IB2, IB3). The OTP itself never reaches amtflow's database; its hash does. */
export interface OtpReport {
  id: string;
  device: string;
  algorithm: OtpAlgorithm;
  hash: string;
  reportedAmtVersion: string | null;
  wiredIp: string | null;
  receivedAt: Date;
  consumedAt: Date | null;
}

const hexHash = z
  .string()
  .regex(/^[0-9A-Fa-f]+$/, 'must be hexadecimal')
  .transform((h) => h.toLowerCase());

const reportSchema = z
  .strictObject({
    algorithm: z.enum(Object.keys(OTP_ALGORITHMS) as [OtpAlgorithm, ...OtpAlgorithm[]]),
    hash: hexHash,
    reportedAmtVersion: z
      .string()
      .regex(/^\d{1,3}(\.\d{1,5}){0,3}$/, 'must be a version such as 11.8.50')
      .optional(),
    /** IB2 (2012): devices with wireless send the wired address, used for provisioning. */
    wiredIp: z
      .string()
      .refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address')
      .optional(),
  })
  .refine((r) => r.hash.length === OTP_ALGORITHMS[r.algorithm], {
    path: ['hash'],
    message: 'has the wrong length for its algorithm',
  });
export type OtpReportInput = z.input<typeof reportSchema>;

export type OtpVerification = { matched: true } | { matched: false; reason: 'no_report' | 'mismatch' };

function toReport(row: Selectable<OtpHashesTable>): OtpReport {
  return {
    id: row.id,
    device: row.device,
    algorithm: row.algorithm,
    hash: row.hash,
    reportedAmtVersion: row.reported_amt_version,
    wiredIp: row.wired_ip,
    receivedAt: row.received_at,
    consumedAt: row.consumed_at,
  };
}

function newest(db: Kysely<Schema>, device: string, lock = false) {
  let query = db.selectFrom('otp_hashes').selectAll().where('device', '=', device).orderBy('id', 'desc').limit(1);
  if (lock) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** OTP hashes for in-band provisioning: recorded on the agent's report, consumed by IB5's check. */
export function otpRepository(db: Kysely<Schema>) {
  return {
    async record(device: string, input: OtpReportInput): Promise<OtpReport> {
      const uuid = normaliseDeviceUuid(device);
      const r = parseInput(reportSchema, input, `OTP report of ${uuid}`);
      return inTransaction(db, async (trx) => {
        await assertDevice(trx, uuid);
        const row = await trx
          .insertInto('otp_hashes')
          .values({
            device: uuid,
            algorithm: r.algorithm,
            hash: r.hash,
            reported_amt_version: r.reportedAmtVersion ?? null,
            wired_ip: r.wiredIp ?? null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toReport(row);
      });
    },

    /** The device's newest report, unless consumed: older reports are superseded, the agent holds only the last OTP. */
    async latest(device: string): Promise<OtpReport | undefined> {
      const row = await newest(db, normaliseDeviceUuid(device));
      return row && !row.consumed_at ? toReport(row) : undefined;
    },

    /**
     * IB5: compares the hash the firmware reports with the device's newest report, in constant
     * time, and consumes it on a match so it cannot verify a second run. A mismatch consumes
     * nothing (a forged report must not burn the genuine one). Retrying with the same idempotency key
     * after a match answers `matched` again.
     */
    async verifyAndConsume(device: string, firmwareHash: string, idempotencyKey: string): Promise<OtpVerification> {
      const uuid = normaliseDeviceUuid(device);
      const reported = parseInput(hexHash, firmwareHash, 'firmware OTP hash');
      const key = parseInput(idempotencyKeySchema, idempotencyKey, 'idempotency key');
      return inTransaction(db, async (trx) => {
        const earlier = await trx
          .selectFrom('otp_hashes')
          .select('device')
          .where('consumed_by', '=', key)
          .executeTakeFirst();
        if (earlier) {
          if (earlier.device !== uuid) {
            throw new StoreError('IDEMPOTENCY_CONFLICT', `idempotency key ${key} consumed an OTP of ${earlier.device}`);
          }
          return { matched: true };
        }
        const row = await newest(trx, uuid, true);
        if (!row || row.consumed_at) return { matched: false, reason: 'no_report' };
        const stored = Buffer.from(row.hash, 'hex');
        const given = Buffer.from(reported, 'hex');
        if (stored.length !== given.length || !timingSafeEqual(stored, given))
          return { matched: false, reason: 'mismatch' };
        await trx
          .updateTable('otp_hashes')
          .set({ consumed_at: sql<Date>`now()`, consumed_by: key })
          .where('id', '=', row.id)
          .execute();
        return { matched: true };
      });
    },
  };
}

export type OtpRepository = ReturnType<typeof otpRepository>;

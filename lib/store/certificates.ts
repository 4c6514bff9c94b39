import { sql, type Kysely, type Selectable } from 'kysely';
import type { Schema } from './schema';
import type { CertificatesTable, CertificateTemplateName, RevocationReasonName } from './tables/certificates';
import { inTransaction } from './transaction';

export interface CertificateRecord {
  serial: string;
  requestId: string;
  requestFingerprint: string;
  template: CertificateTemplateName;
  deviceUuid: string;
  dnsName: string;
  subject: string;
  issuerSha256: string;
  /** `device`: the firmware generated the key and sent a PKCS#10 request; `amtflow`: amtflow made it. */
  keySource: 'device' | 'amtflow';
  certificatePem: string;
  notBefore: Date;
  notAfter: Date;
  issuedAt: Date;
  status: 'issued' | 'revoked';
  revocationReason: RevocationReasonName | null;
  revokedAt: Date | null;
}

export type NewCertificate = Omit<CertificateRecord, 'issuedAt' | 'status' | 'revocationReason' | 'revokedAt'>;

export interface StoredCrl {
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  der: Buffer;
}

export interface RevokedSerial {
  serial: string;
  revokedAt: Date;
  reason: RevocationReasonName;
}

function toRecord(row: Selectable<CertificatesTable>): CertificateRecord {
  return {
    serial: row.serial,
    requestId: row.request_id,
    requestFingerprint: row.request_fingerprint,
    template: row.template,
    deviceUuid: row.device_uuid,
    dnsName: row.dns_name,
    subject: row.subject,
    issuerSha256: row.issuer_sha256,
    keySource: row.key_source,
    certificatePem: row.certificate_pem,
    notBefore: row.not_before,
    notAfter: row.not_after,
    issuedAt: row.issued_at,
    status: row.status,
    revocationReason: row.revocation_reason,
    revokedAt: row.revoked_at,
  };
}

/** Associated data of a sealed certificate private key: binds it to its certificate's serial. */
export const certificateKeyAssociatedData = (serial: string) => `certificate-key:${serial}`;

/** Arbitrary constant: the advisory-lock class under which CRL regenerations take turns. */
const CRL_LOCK_CLASS = 7199172;

/**
 * The certificates the built-in CA issued (spec I1, I2, UPD3, DEP2), the private keys it made for
 * firmware, and each issuing CA's current CRL. Rows are never deleted: a revoked certificate stays
 * listed in the CRL, and the table is the CA's issuance record.
 */
export function certificatesRepository(db: Kysely<Schema>) {
  const selectCertificates = () => db.selectFrom('certificates').selectAll();

  return {
    /**
     * Records an issued certificate (and the sealed key amtflow generated for it) under its request
     * id, in one transaction. When that request id is already recorded — an earlier attempt, or a
     * concurrent one that committed first (the insert waits for it) — nothing is written and the
     * recorded certificate is returned with `created: false`.
     */
    async recordIssue(
      certificate: NewCertificate,
      sealedKey?: string,
    ): Promise<{ record: CertificateRecord; created: boolean }> {
      return inTransaction(db, async (trx) => {
        const inserted = await trx
          .insertInto('certificates')
          .values({
            serial: certificate.serial,
            request_id: certificate.requestId,
            request_fingerprint: certificate.requestFingerprint,
            template: certificate.template,
            device_uuid: certificate.deviceUuid,
            dns_name: certificate.dnsName,
            subject: certificate.subject,
            issuer_sha256: certificate.issuerSha256,
            key_source: certificate.keySource,
            certificate_pem: certificate.certificatePem,
            not_before: certificate.notBefore,
            not_after: certificate.notAfter,
          })
          .onConflict((oc) => oc.column('request_id').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!inserted) {
          const earlier = await trx
            .selectFrom('certificates')
            .selectAll()
            .where('request_id', '=', certificate.requestId)
            .executeTakeFirstOrThrow();
          return { record: toRecord(earlier), created: false };
        }
        if (sealedKey !== undefined) {
          await trx
            .insertInto('certificate_private_keys')
            .values({ serial: certificate.serial, sealed_key: sealedKey })
            .execute();
        }
        return { record: toRecord(inserted), created: true };
      });
    },

    async byRequestId(requestId: string): Promise<CertificateRecord | undefined> {
      const row = await selectCertificates().where('request_id', '=', requestId).executeTakeFirst();
      return row && toRecord(row);
    },

    async bySerial(serial: string): Promise<CertificateRecord | undefined> {
      const row = await selectCertificates().where('serial', '=', serial).executeTakeFirst();
      return row && toRecord(row);
    },

    /** OPS4: certificates not revoked whose validity ends before `before`, soonest first. */
    async expiringBefore(before: Date): Promise<CertificateRecord[]> {
      const rows = await selectCertificates()
        .where('status', '=', 'issued')
        .where('not_after', '<', before)
        .orderBy('not_after')
        .orderBy('serial')
        .execute();
      return rows.map(toRecord);
    },

    /** Every certificate issued for a device, revoked ones included, newest first (the inventory's view). */
    async forDevice(deviceUuid: string): Promise<CertificateRecord[]> {
      const rows = await selectCertificates()
        .where('device_uuid', '=', deviceUuid)
        .orderBy('issued_at', 'desc')
        .orderBy('serial')
        .execute();
      return rows.map(toRecord);
    },

    /** Certificates of a device not revoked yet, newest first (spec I1: what to revoke before re-issuing). */
    async currentForDevice(
      deviceUuid: string,
      templates?: readonly CertificateTemplateName[],
    ): Promise<CertificateRecord[]> {
      let query = selectCertificates().where('device_uuid', '=', deviceUuid).where('status', '=', 'issued');
      if (templates) query = query.where('template', 'in', templates);
      return (await query.orderBy('issued_at', 'desc').orderBy('serial').execute()).map(toRecord);
    },

    /**
     * Revokes one certificate. Revoking twice keeps the first reason and time (a retried activity
     * changes nothing); undefined when the serial is unknown.
     */
    async markRevoked(serial: string, reason: RevocationReasonName, at: Date): Promise<CertificateRecord | undefined> {
      const updated = await db
        .updateTable('certificates')
        .set({ status: 'revoked', revocation_reason: reason, revoked_at: at })
        .where('serial', '=', serial)
        .where('status', '=', 'issued')
        .returningAll()
        .executeTakeFirst();
      if (updated) return toRecord(updated);
      const row = await selectCertificates().where('serial', '=', serial).executeTakeFirst();
      return row && toRecord(row);
    },

    /** Revokes, in one statement, every current certificate of a device (of the given templates). */
    async markDeviceRevoked(
      deviceUuid: string,
      templates: readonly CertificateTemplateName[],
      reason: RevocationReasonName,
      at: Date,
    ): Promise<CertificateRecord[]> {
      const rows = await db
        .updateTable('certificates')
        .set({ status: 'revoked', revocation_reason: reason, revoked_at: at })
        .where('device_uuid', '=', deviceUuid)
        .where('status', '=', 'issued')
        .where('template', 'in', templates)
        .returningAll()
        .execute();
      return rows.map(toRecord).sort((a, b) => a.serial.localeCompare(b.serial));
    },

    async revokedBy(issuerSha256: string): Promise<RevokedSerial[]> {
      const rows = await db
        .selectFrom('certificates')
        .select(['serial', 'revoked_at', 'revocation_reason'])
        .where('issuer_sha256', '=', issuerSha256)
        .where('status', '=', 'revoked')
        .orderBy('serial')
        .execute();
      return rows.map((row) => ({
        serial: row.serial,
        revokedAt: row.revoked_at as Date,
        reason: row.revocation_reason as RevocationReasonName,
      }));
    },

    async sealedKey(serial: string): Promise<string | undefined> {
      const row = await db
        .selectFrom('certificate_private_keys')
        .select('sealed_key')
        .where('serial', '=', serial)
        .executeTakeFirst();
      return row?.sealed_key;
    },

    async deleteKeys(serials: readonly string[]): Promise<void> {
      if (serials.length) await db.deleteFrom('certificate_private_keys').where('serial', 'in', serials).execute();
    },

    async currentCrl(issuerSha256: string): Promise<StoredCrl | undefined> {
      const row = await db
        .selectFrom('certificate_revocation_lists')
        .selectAll()
        .where('issuer_sha256', '=', issuerSha256)
        .executeTakeFirst();
      return (
        row && {
          crlNumber: BigInt(row.crl_number),
          thisUpdate: row.this_update,
          nextUpdate: row.next_update,
          der: Buffer.from(row.der),
        }
      );
    },

    /**
     * Runs `build` while holding the issuer's CRL lock, with a fresh CRL number, and stores what it
     * returns: regenerations by several processes take turns, so a newer CRL (higher number, more
     * entries) is never overwritten by an older one — in the database or in whatever `build` writes.
     */
    async replaceCrl(
      issuerSha256: string,
      build: (crlNumber: bigint, revoked: RevokedSerial[]) => Promise<StoredCrl>,
    ): Promise<StoredCrl> {
      return inTransaction(db, async (trx) => {
        await sql`select pg_advisory_xact_lock(${CRL_LOCK_CLASS}, hashtext(${issuerSha256}))`.execute(trx);
        const next = await sql<{ n: string }>`select nextval('certificate_crl_number') as n`.execute(trx);
        const tx = certificatesRepository(trx);
        const crl = await build(BigInt((next.rows[0] as { n: string }).n), await tx.revokedBy(issuerSha256));
        const values = {
          issuer_sha256: issuerSha256,
          crl_number: crl.crlNumber.toString(),
          this_update: crl.thisUpdate,
          next_update: crl.nextUpdate,
          der: crl.der,
        };
        await trx
          .insertInto('certificate_revocation_lists')
          .values(values)
          .onConflict((oc) => oc.column('issuer_sha256').doUpdateSet(values))
          .execute();
        return crl;
      });
    },
  };
}

export type CertificatesRepository = ReturnType<typeof certificatesRepository>;

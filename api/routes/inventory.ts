/**
 * The device inventory (issue 11 §2): list and search, one device in detail, CSV import with a
 * result per row, and break-glass — an administrator reading a device's current AMT admin (or MEBx)
 * password, e.g. to reach it from another console during an outage: a stated reason, audited,
 * rate-limited per principal, answered `Cache-Control: no-store` and never logged.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deviceUuidSchema } from '../../lib/device-uuid';
import { holds } from '../../lib/rights';
import { DISCOVERY_STATUSES, PROVISIONING_STATES, StoreError } from '../../lib/store';
import { principalOf, visibleCollections } from '../authorize';
import { ApiError, parseBody, toApiError } from '../errors';
import { doc } from '../openapi';
import type { ApiServerDeps } from '../server';
import { uuidOf } from './devices';

const searchQuery = z.strictObject({
  collection: z.string().min(1).max(128).optional(),
  provisioningState: z.enum(PROVISIONING_STATES).optional(),
  discoveryStatus: z.enum(DISCOVERY_STATUSES).optional(),
  amtVersion: z.string().max(32).optional(),
  q: z.string().min(1).max(253).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

const breakGlassBody = z.strictObject({
  kind: z.enum(['amt_admin', 'mebx']).default('amt_admin'),
  reason: z.string().trim().min(8, 'state why, in at least 8 characters').max(1024),
});

/** Break-glass reveals per principal and window; the audit log is the counter. */
export interface BreakGlassLimit {
  count: number;
  windowMs: number;
}
export const DEFAULT_BREAK_GLASS_LIMIT: BreakGlassLimit = { count: 3, windowMs: 60 * 60 * 1000 };
export const BREAK_GLASS_ACTION = 'api.post /devices/:uuid/break-glass';

/** One row's outcome of a CSV import. `row` counts data rows from 1 (the header is not one). */
export interface ImportRowResult {
  row: number;
  line: number;
  uuid?: string;
  status: 'created' | 'unchanged' | 'failed';
  code?: string;
  message?: string;
  issues?: ReadonlyArray<{ field: string; message: string }>;
}

const HEADER = ['uuid', 'hostname', 'domain', 'collection'];
const isHeader = (fields: string[]) => fields[0]?.trim().toLowerCase() === 'uuid';

type DeviceRequest = FastifyRequest<{ Params: { uuid: string } }>;

export async function inventoryRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  const limit = deps.breakGlassLimit ?? DEFAULT_BREAK_GLASS_LIMIT;
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 4 * 1024 * 1024 }, (_request, body, done) =>
    done(null, body),
  );

  app.get(
    '/devices',
    {
      config: { right: 'view', scope: 'any' },
      schema: doc('inventory', 'List and search devices', { querystring: searchQuery }),
    },
    async (request) => {
      const query = parseBody(searchQuery, request.query, 'device search');
      const { q, ...filter } = query;
      const found = await deps.store.devices.search({ ...filter, text: q, collections: visibleCollections(request) });
      return { ...found, limit: query.limit, offset: query.offset };
    },
  );

  app.get(
    '/devices/:uuid',
    { config: { right: 'view' }, schema: doc('inventory', 'One device: last runs, certificates, credential versions') },
    async (request: DeviceRequest) => {
      const uuid = uuidOf(request);
      const device = await deps.store.devices.require(uuid);
      const [automaticProvisioning, runs, certificates, credentials, contact] = await Promise.all([
        deps.store.devices.automaticProvisioning(uuid),
        deps.store.results.forDevice(uuid),
        deps.store.certificates.forDevice(uuid),
        deps.store.credentials.list(uuid),
        deps.store.contacts.get(uuid),
      ]);
      return {
        device,
        automaticProvisioning,
        contact: contact ?? null,
        lastRuns: runs.slice(0, 10),
        certificates: certificates.map(({ certificatePem: _pem, ...c }) => c),
        // Versions and states only: values are read through break-glass.
        credentials: credentials.map((c) => ({ kind: c.kind, version: c.version, status: c.status })),
      };
    },
  );

  app.post(
    '/devices/import',
    {
      config: { right: 'manage', scope: 'any' },
      schema: doc('inventory', 'Import devices from CSV (uuid,hostName,domain,collection), a result per row', {
        consumes: ['text/csv'],
      }),
    },
    async (request, reply) => {
      if (typeof request.body !== 'string')
        throw new ApiError(400, 'INVALID_REQUEST', 'send the CSV as text/csv: uuid,hostName,domain,collection');
      const principal = principalOf(request);
      const results: ImportRowResult[] = [];
      const records: Array<{ record: string[]; info: { lines: number } }> = [];
      parseCsv(request.body, {
        relax_column_count: true,
        skip_empty_lines: true,
        skip_records_with_error: true,
        trim: true,
        info: true,
        on_record: (rec: { record: string[]; info: { lines: number } }) => {
          records.push(rec);
          return null;
        },
        on_skip: (err: (Error & { lines?: number }) | undefined) => {
          results.push({
            row: 0,
            line: err?.lines ?? 0,
            status: 'failed',
            code: 'INVALID_CSV',
            message: err?.message ?? 'unreadable row',
          });
        },
      } as never);
      const rows = records.length > 0 && isHeader(records[0]!.record) ? records.slice(1) : records;
      let row = 0;
      for (const { record, info } of rows) {
        row += 1;
        const [uuid = '', hostName = '', domain = '', collection = ''] = record;
        const result: ImportRowResult = { row, line: info.lines, status: 'failed' };
        try {
          if (record.length > HEADER.length)
            throw new ApiError(
              400,
              'INVALID_REQUEST',
              `expected at most ${HEADER.length} fields (${HEADER.join(', ')}), got ${record.length}`,
            );
          const parsed = deviceUuidSchema.safeParse(uuid);
          if (parsed.success) result.uuid = parsed.data;
          const target = collection === '' ? null : collection;
          const existing = parsed.success ? await deps.store.devices.get(parsed.data) : undefined;
          // Rows are refused alike for a collection the caller may not manage and a device it may not see.
          if (
            !holds(principal.grants, 'manage', target) ||
            (existing && !holds(principal.grants, 'manage', existing.collection))
          )
            throw new ApiError(
              403,
              'FORBIDDEN',
              `${principal.name} does not hold the right "Manage management controllers" for this row`,
            );
          const { created } = await deps.store.devices.importComputer({
            uuid,
            hostName,
            domain,
            ...(target ? { collection: target } : {}),
          });
          result.status = created ? 'created' : 'unchanged';
          if (created)
            await deps.store.audit.append({
              actor: principal.name,
              action: 'device.import',
              target: result.uuid as string,
              outcome: 'success',
              details: { via: 'csv', row },
            });
        } catch (err) {
          const answer = err instanceof StoreError || err instanceof ApiError ? toApiError(err) : undefined;
          if (!answer) throw err;
          Object.assign(result, {
            code: answer.code,
            message: answer.message,
            ...(answer.issues ? { issues: answer.issues } : {}),
          });
        }
        results.push(result);
      }
      results.sort((a, b) => a.line - b.line);
      const summary = {
        created: results.filter((r) => r.status === 'created').length,
        unchanged: results.filter((r) => r.status === 'unchanged').length,
        failed: results.filter((r) => r.status === 'failed').length,
      };
      if (request.audit) request.audit.details = summary;
      return reply.code(200).send({ ...summary, results });
    },
  );

  app.post(
    '/devices/:uuid/break-glass',
    {
      config: { right: 'administrator' },
      schema: doc('inventory', "Break-glass: reveal the device's current AMT admin or MEBx password", {
        body: breakGlassBody,
      }),
    },
    async (request: DeviceRequest, reply) => {
      const uuid = uuidOf(request);
      const body = parseBody(breakGlassBody, request.body, 'break-glass request');
      const principal = principalOf(request);
      if (request.audit) request.audit.details = { kind: body.kind, reason: body.reason };
      await deps.store.devices.require(uuid);
      // The rate limit's count, the audit entry and the reveal are one transaction under a lock per
      // principal: concurrent requests cannot reveal more than the limit, and a reveal that fails
      // leaves no entry counted against it (the failure is audited by the hook instead).
      const revealed = await deps.store.transaction(async (s) => {
        const credential = await s.credentials.current(uuid, body.kind);
        if (!credential)
          throw new ApiError(
            404,
            'NO_CREDENTIAL',
            `device ${uuid} has no current ${body.kind === 'mebx' ? 'MEBx' : 'AMT admin'} password`,
          );
        const details = { kind: body.kind, version: credential.version, reason: body.reason };
        if (request.audit) request.audit.details = details;
        const { used, record } = await s.audit.appendWithinLimit(
          {
            actor: principal.name,
            action: BREAK_GLASS_ACTION,
            target: uuid,
            outcome: 'success',
            details: { status: 200, ...details },
          },
          { count: limit.count, since: new Date(Date.now() - limit.windowMs) },
        );
        if (!record)
          throw new ApiError(
            429,
            'RATE_LIMITED',
            `${principal.name} has revealed ${used} password(s) in the last ${Math.round(limit.windowMs / 60000)} minutes, the most allowed; ask another administrator`,
          );
        return { credential, password: await s.credentials.reveal(credential) };
      });
      // Audited in the transaction above: the hook must not write the entry a second time.
      request.audit = undefined;
      const { credential, password } = revealed;
      return reply
        .header('cache-control', 'no-store')
        .send({ uuid, kind: body.kind, username: credential.username, version: credential.version, password });
    },
  );
}

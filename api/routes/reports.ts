/**
 * OPS4 reports on out-of-band management, as JSON or CSV (`?format=csv` or `Accept: text/csv`):
 * devices by management-controller status, collection and AMT version (over the collections the
 * caller may view); runs and failures by step over a period; certificates expiring within N days.
 * Runs and certificates span the site, so they need the right on `*`.
 */
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { visibleCollections } from '../authorize';
import { parseBody } from '../errors';
import { doc } from '../openapi';
import type { ApiServerDeps } from '../server';

const format = z.enum(['json', 'csv']).optional();
const devicesQuery = z.strictObject({ format });
const runsQuery = z.strictObject({
  format,
  since: z.iso.datetime({ offset: true }).optional(),
  days: z.coerce.number().int().min(1).max(3660).default(30),
});
const certificatesQuery = z.strictObject({ format, days: z.coerce.number().int().min(1).max(3660).default(42) });

/** Answers `rows` as CSV (header from the first row's keys) or as JSON `{ report, rows }`. */
function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  report: string,
  rows: Array<Record<string, unknown>>,
  asked?: 'json' | 'csv',
) {
  const csv = asked === 'csv' || (asked === undefined && (request.headers.accept ?? '').includes('text/csv'));
  if (!csv) return reply.send({ report, rows });
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="amtflow-${report}.csv"`)
    .send(stringify(rows, { header: true, cast: { date: (d) => d.toISOString() } }));
}

export async function reportsRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  app.get(
    '/reports/devices',
    {
      config: { right: 'view', scope: 'any' },
      schema: doc('reports', 'Devices by management-controller status, collection and AMT version (OPS4)', {
        querystring: devicesQuery,
      }),
    },
    async (request, reply) => {
      const q = parseBody(devicesQuery, request.query, 'report request');
      const rows = await deps.store.devices.summary(visibleCollections(request));
      return answer(request, reply, 'devices', rows, q.format);
    },
  );
  app.get(
    '/reports/runs',
    {
      config: { right: 'view', scope: 'site' },
      schema: doc('reports', 'Runs and failures by flow, outcome and step over a period (OPS4)', {
        querystring: runsQuery,
      }),
    },
    async (request, reply) => {
      const q = parseBody(runsQuery, request.query, 'report request');
      const since = q.since ? new Date(q.since) : new Date(Date.now() - q.days * 86_400_000);
      const rows = (await deps.store.results.countByStep(since)).map((r) => ({ since, ...r }));
      return answer(request, reply, 'runs', rows, q.format);
    },
  );
  app.get(
    '/reports/certificates',
    {
      config: { right: 'view', scope: 'site' },
      schema: doc('reports', 'Certificates expiring within N days (default 42) (OPS4)', {
        querystring: certificatesQuery,
      }),
    },
    async (request, reply) => {
      const q = parseBody(certificatesQuery, request.query, 'report request');
      const certificates = await deps.store.certificates.expiringBefore(new Date(Date.now() + q.days * 86_400_000));
      const rows = certificates.map((c) => ({
        deviceUuid: c.deviceUuid,
        dnsName: c.dnsName,
        template: c.template,
        serial: c.serial,
        notAfter: c.notAfter,
      }));
      return answer(request, reply, 'certificates', rows, q.format);
    },
  );
}

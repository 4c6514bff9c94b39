/**
 * OPS4 reports on out-of-band management, as JSON or CSV (`?format=csv` or `Accept: text/csv`):
 * devices by management-controller status, collection and AMT version (over the collections the
 * caller may view); runs and failures by step over a period; certificates expiring within N days.
 * Runs, certificates and the audit log (P7: every decision, refusal and secret read, newest first)
 * span the site, so they need the right on `*`.
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
const auditQuery = z.strictObject({
  format,
  target: z.string().min(1).max(256).optional(),
  actor: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

type Rows = Array<Record<string, unknown>>;

/** Answers `rows` as CSV (header from the first row's keys) or as JSON `{ report, rows }`. */
function answer(request: FastifyRequest, reply: FastifyReply, report: string, rows: Rows, asked?: 'json' | 'csv') {
  const csv = asked === 'csv' || (asked === undefined && (request.headers.accept ?? '').includes('text/csv'));
  if (!csv) return reply.send({ report, rows });
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="amtflow-${report}.csv"`)
    .send(stringify(rows, { header: true, cast: { date: (d) => d.toISOString() } }));
}

export async function reportsRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  /** One report: `GET /reports/<name>`, its query validated, its rows answered as JSON or CSV. */
  function report<Q extends z.ZodType<{ format?: 'json' | 'csv' }>>(
    name: string,
    options: {
      scope: 'any' | 'site';
      summary: string;
      query: Q;
      rows: (query: z.output<Q>, request: FastifyRequest) => Promise<Rows>;
    },
  ): void {
    app.get(
      `/reports/${name}`,
      {
        config: { right: 'view', scope: options.scope },
        schema: doc('reports', options.summary, { querystring: options.query }),
      },
      async (request, reply) => {
        const query = parseBody(options.query, request.query, 'report request');
        return answer(request, reply, name, await options.rows(query, request), query.format);
      },
    );
  }

  report('devices', {
    scope: 'any',
    summary: 'Devices by management-controller status, collection and AMT version (OPS4)',
    query: devicesQuery,
    rows: async (_query, request) => deps.store.devices.summary(visibleCollections(request)),
  });
  report('runs', {
    scope: 'site',
    summary: 'Runs and failures by flow, outcome and step over a period (OPS4)',
    query: runsQuery,
    rows: async (query) => {
      const since = query.since ? new Date(query.since) : new Date(Date.now() - query.days * 86_400_000);
      return (await deps.store.results.countByStep(since)).map((r) => ({ since, ...r }));
    },
  });
  report('certificates', {
    scope: 'site',
    summary: 'Certificates expiring within N days (default 42) (OPS4)',
    query: certificatesQuery,
    rows: async (query) =>
      (await deps.store.certificates.expiringBefore(new Date(Date.now() + query.days * 86_400_000))).map((c) => ({
        deviceUuid: c.deviceUuid,
        dnsName: c.dnsName,
        template: c.template,
        serial: c.serial,
        notAfter: c.notAfter,
      })),
  });
  report('audit', {
    scope: 'site',
    summary: 'The audit log (P7), newest first, optionally for one target (a device UUID, …) or actor',
    query: auditQuery,
    rows: async (query) =>
      (
        await deps.store.audit.recent({
          limit: query.limit,
          ...(query.target ? { target: query.target } : {}),
          ...(query.actor ? { actor: query.actor } : {}),
        })
      ).map((r) => ({
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: r.outcome,
        details: JSON.stringify(r.details),
      })),
  });
}

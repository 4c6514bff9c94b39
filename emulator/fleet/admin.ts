import { createHash } from 'node:crypto';
import Fastify, { type FastifyReply } from 'fastify';
import { z } from 'zod';
import { httpReporter, runAgent, type Reporter } from '../agent/agent';
import { EmulatorError } from '../errors';
import { HOST_ACTIONS } from '../host/host';
import type { Fleet } from './fleet';

export interface AdminApi {
  url: string;
  close(): Promise<void>;
}

const otpBody = z
  .object({
    otp: z
      .string()
      .min(8)
      .max(32)
      .regex(/^[\x21-\x7e]+$/),
  })
  .strict();
const hostAction = z.enum(HOST_ACTIONS);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const rebootBody = z.object({ ms: z.number().int().min(0).max(600_000).default(1000) }).strict();
const agentBody = z
  .object({
    reportUrl: z.string().url().optional(),
    rootThumbprint: z
      .string()
      .regex(/^[0-9a-fA-F]{40,96}$/)
      .optional(),
  })
  .strict();

const STATUS: Partial<Record<EmulatorError['code'], number>> = { UNKNOWN_DEVICE: 404, AGENT_REPORT_FAILED: 502 };

function fail(reply: FastifyReply, err: unknown) {
  if (err instanceof EmulatorError)
    return reply.code(STATUS[err.code] ?? 400).send({ code: err.code, message: err.message });
  if (err instanceof z.ZodError) {
    const issue = err.issues[0];
    return reply
      .code(400)
      .send({ code: 'INVALID_INPUT', message: `${issue?.path.join('.') || 'body'}: ${issue?.message}` });
  }
  throw err;
}

/**
 * The admin API: the test oracle (any device's NVRAM), fault injection and the host-side (MEI)
 * operations. It listens on its own address and port (127.0.0.1 by default), never on a device
 * address, so no client of a device port can reach it.
 */
export async function startAdminApi(fleet: Fleet, options: { host?: string; port?: number }): Promise<AdminApi> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  const run =
    <P>(handler: (params: P, body: unknown) => unknown) =>
    async (req: { params: unknown; body: unknown }, reply: FastifyReply) => {
      try {
        return await handler(req.params as P, req.body ?? {});
      } catch (err) {
        return fail(reply, err);
      }
    };
  type ByUuid = { uuid: string };

  app.get('/devices', async () =>
    fleet.devices.map((d) => {
      const n = d.nvram();
      return {
        uuid: d.uuid,
        address: d.address,
        httpPort: d.httpPort,
        tlsPort: d.tlsPort,
        redirectionPort: d.redirection.port,
        redirectionTlsPort: d.redirection.tlsPort,
        amtVersion: n.amtVersion,
        provisioningState: n.provisioning.state,
        controlMode: n.provisioning.controlMode,
      };
    }),
  );
  app.get(
    '/devices/:uuid/nvram',
    run<ByUuid>(({ uuid }) => fleet.device(uuid).nvram()),
  );
  app.get(
    '/devices/:uuid/local-account',
    run<ByUuid>(({ uuid }) => fleet.device(uuid).localSystemAccount()),
  );
  app.post(
    '/devices/:uuid/mei/otp',
    run<ByUuid>(async ({ uuid }, body) => {
      await fleet.device(uuid).setProvisioningOtp(otpBody.parse(body).otp);
      return { ok: true };
    }),
  );
  app.post(
    '/devices/:uuid/mei/start-configuration',
    run<ByUuid>(async ({ uuid }) => {
      await fleet.device(uuid).startConfiguration();
      return { ok: true };
    }),
  );
  app.post(
    '/devices/:uuid/mei/unprovision',
    run<ByUuid>(async ({ uuid }) => ({ ok: await fleet.device(uuid).localUnprovision() })),
  );
  app.post(
    '/devices/:uuid/reboot',
    run<ByUuid>(({ uuid }, body) => {
      fleet.device(uuid).reboot(rebootBody.parse(body).ms);
      return { ok: true };
    }),
  );
  app.post(
    '/devices/:uuid/agent',
    run<ByUuid>(async ({ uuid }, body) => {
      const { reportUrl, rootThumbprint } = agentBody.parse(body);
      // Without a report URL the report is only returned to the caller.
      const reporter: Reporter = reportUrl ? httpReporter(reportUrl) : async () => undefined;
      return runAgent(fleet.device(uuid), { reporter, rootThumbprint });
    }),
  );
  app.get(
    '/devices/:uuid/host',
    run<ByUuid>(({ uuid }) => {
      const { host } = fleet.device(uuid);
      return {
        state: host.state,
        meAwake: host.meAwake(),
        transitions: host.transitions,
        console: host.console.transcript(),
        drive: {
          connected: host.drive.connected,
          reads: host.drive.reads.map(({ data, ...read }) => ({ ...read, sha256: sha256(data) })),
          failures: host.drive.failures,
        },
      };
    }),
  );
  app.post(
    '/devices/:uuid/host/:action',
    run<ByUuid & { action: string }>(({ uuid, action }) => fleet.device(uuid).host.local(hostAction.parse(action))),
  );
  app.get('/faults', async () => fleet.faults());
  app.post(
    '/faults',
    run<object>((_params, body) => fleet.inject(body as Parameters<Fleet['inject']>[0])),
  );
  app.delete(
    '/faults/:id',
    run<{ id: string }>(({ id }) => {
      fleet.clearFaults(id);
      return { ok: true };
    }),
  );
  app.delete('/faults', async () => {
    fleet.clearFaults();
    return { ok: true };
  });

  const url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return { url, close: () => app.close() };
}

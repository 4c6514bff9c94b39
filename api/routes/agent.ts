import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deviceUuidSchema } from '../../lib/device-uuid';
import { runInFlight } from '../../runtime/lifecycle-client';
import { provisionAutomatically } from '../automatic-provisioning';
import { ApiError, parseBody } from '../errors';
import type { ApiRouteDeps } from '../server';
import { bearerToken } from '../tokens';

/** Exactly what the in-band agent sends (emulator/agent/agent.ts `AgentReport`, spec IB2/IB3). */
const agentReport = z.strictObject({
  uuid: deviceUuidSchema,
  otpHash: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 hash in hex')
    .transform((h) => h.toLowerCase()),
  amtVersion: z.string().regex(/^\d{1,3}(\.\d{1,5}){0,3}$/, 'must be a version such as 11.8.50'),
  sku: z.string().regex(/^[0-9A-Za-z.-]{1,32}$/, 'must be the AMT SKU'),
  wiredIpAddress: z.string().refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address'),
});

/** Node reports IPv4 peers of a dual-stack socket as `::ffff:a.b.c.d`. */
const plainAddress = (address: string) => (address.startsWith('::ffff:') ? address.slice(7) : address);

/**
 * The in-band agent's report (IB2–IB4), under `/api/v1`. An agent speaks only for its own computer
 * (issue 9): its credential is the one an operator issued to that computer
 * (`POST /devices/:uuid/agent-credential`, revocable on its own), the report must name that
 * computer's UUID (AGENT_NOT_FOR_DEVICE), and its wired address must be the connection's source —
 * as a trusted proxy (config `listeners.trustedProxies`) forwards it — (AGENT_ADDRESS_MISMATCH). While
 * the device's run is in flight a report from another address is kept as a conflict and audited,
 * never used (RUN_IN_FLIGHT). Agents that cannot send headers put the credential in the path.
 */
export async function agentRoutes(app: FastifyInstance, deps: ApiRouteDeps): Promise<void> {
  const handler = async (request: FastifyRequest<{ Params: { token?: string } }>, reply: FastifyReply) => {
    await deps.unauthenticated.admit(request, reply);
    const token = request.params.token ?? bearerToken(request.headers.authorization);
    const computer = token ? await deps.store.contacts.agentDevice(token) : undefined;
    if (!computer) {
      // Issue 12 §4: refused agents are rate-limited per source like operators (api/limits.ts).
      await deps.unauthenticated.refuse(request, reply);
      throw new ApiError(401, 'UNAUTHORIZED', 'a valid agent credential of this computer is required');
    }
    const report = parseBody(agentReport, request.body, 'agent report');
    if (report.uuid !== computer) {
      throw new ApiError(
        403,
        'AGENT_NOT_FOR_DEVICE',
        `this agent credential speaks for ${computer}, not ${report.uuid}`,
      );
    }
    const source = plainAddress(request.ip);
    if (plainAddress(report.wiredIpAddress) !== source) {
      throw new ApiError(
        403,
        'AGENT_ADDRESS_MISMATCH',
        `the report names wired address ${report.wiredIpAddress} but comes from ${source}`,
      );
    }
    const inFlight = await runInFlight(deps.client, report.uuid);
    const contact = await deps.store.contacts.get(report.uuid);
    if (inFlight && contact && contact.host !== source) {
      await deps.store.contacts.recordConflict(report.uuid, {
        host: source,
        knownHost: contact.host,
        source: 'agent',
        workflowId: inFlight.workflowId,
      });
      await deps.store.audit.append({
        actor: 'agent',
        action: 'agent.duplicate-uuid',
        target: report.uuid,
        outcome: 'denied',
        details: { host: source, knownHost: contact.host, workflowId: inFlight.workflowId },
      });
      throw new ApiError(
        409,
        'RUN_IN_FLIGHT',
        `the ${inFlight.operation} run of ${report.uuid} uses ${contact.host}; the report is kept as a conflict`,
      );
    }
    await deps.store.transaction(async (store) => {
      await store.otp.record(report.uuid, {
        algorithm: 'sha256',
        hash: report.otpHash,
        reportedAmtVersion: report.amtVersion,
        wiredIp: report.wiredIpAddress,
      });
      await store.contacts.recordAgentReport(report.uuid, { host: source });
    });
    const provisioning = await provisionAutomatically(deps, report.uuid, 'in-band', 'agent');
    deps.logger.info({ uuid: report.uuid, amtVersion: report.amtVersion, ...provisioning }, 'agent report recorded');
    return reply.code(202).send({ accepted: true, provisioning });
  };
  app.post('/agent/reports', handler);
  app.post('/agent/:token/reports', handler);
}

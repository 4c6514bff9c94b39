import cors from '@fastify/cors';
import type { Payload, PayloadCodec } from '@temporalio/common';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bearerToken, tokenMatches } from './tokens';

/**
 * Codec server for the Temporal Web UI and CLI: decodes (and encodes) payloads so operators can
 * read run inputs and results, which are encrypted in Temporal's history. Token-protected: the
 * token travels as `Authorization: Bearer <token>`, or as the first path segment
 * (`http://host:8888/<token>`) for the dev Web UI, whose codec endpoint setting cannot send headers.
 */
const wirePayloads = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })),
});
type WirePayloads = z.infer<typeof wirePayloads>;

function fromWire(body: WirePayloads): Payload[] {
  return body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));
}

function toWire(payloads: Payload[]): WirePayloads {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? []).toString('base64'),
    })),
  };
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  token: string;
  /** Origins allowed to call from a browser, e.g. the Web UI at http://127.0.0.1:8233. */
  allowedOrigins: string[];
}

export async function buildCodecServer(options: CodecServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  await app.register(cors, {
    origin: options.allowedOrigins,
    methods: ['POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'x-namespace', 'authorization'],
  });
  const authorised = (request: FastifyRequest<{ Params: { token?: string } }>): boolean =>
    tokenMatches(request.params.token ?? bearerToken(request.headers.authorization), options.token);
  for (const action of ['encode', 'decode'] as const) {
    const handler = async (
      request: FastifyRequest<{ Params: { token?: string } }>,
      reply: import('fastify').FastifyReply,
    ) => {
      if (!authorised(request)) return reply.code(401).send({ error: 'a valid codec token is required' });
      const body = wirePayloads.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'body must be { payloads: [{ metadata, data }] }' });
      try {
        return toWire(await options.codec[action](fromWire(body.data)));
      } catch (err) {
        return reply.code(422).send({ error: `cannot ${action}: ${(err as Error).message}` });
      }
    };
    app.post(`/${action}`, handler);
    app.post(`/:token/${action}`, handler);
  }
  return app;
}

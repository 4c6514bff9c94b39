import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { buildApiServer } from '../../../api/server';
import { apiLimitsSchema, type ApiLimitsConfig } from '../../../lib/config';
import { ALL_COLLECTIONS } from '../../../lib/rights';
import { AMT_PROVISIONING_OID, SERVER_AUTH_OID } from '../../../lib/pki/templates';
import { createTestDeps, type TestDeps } from '../../support/activity-env';
import { connectTestEnv, uniqueQueue } from '../../support/temporal';
import { foreignCertificate, pkcs12, rsaKey } from '../../unit/pki/fixtures';
import { capturingLogger, principalWith } from './support';

/**
 * Issue 12 §4 and §2 at the API: a body that never arrives whole is answered 408, headers that never
 * end 408 too, idle connections are closed, and a flood of bad tokens is answered 429, without an
 * audit row per request; an administrator adds a provisioning chain checked
 * as lib/pki checks it at import, audited without its password.
 */
const LIMIT = 5;
const ROOT = path.resolve(__dirname, '..', '..', '..');

/** A real API over PGlite, the test CA and the Temporal test server, for one describe block. */
function useApi(
  limits?: ApiLimitsConfig,
  extend?: (app: FastifyInstance) => Promise<void>,
  options: { withCa?: boolean } = {},
) {
  const api = {} as { deps: TestDeps; port: number };
  let env: TestWorkflowEnvironment;
  let close: () => Promise<void>;
  beforeAll(async () => {
    env = await connectTestEnv();
    api.deps = await createTestDeps({ directory: false });
    const app = await buildApiServer({
      store: api.deps.store,
      client: env.client,
      crl: () => api.deps.ca.crl(),
      ...(options.withCa === false ? {} : { provisioning: api.deps.ca.provisioning }),
      logger: capturingLogger().logger,
      taskQueue: uniqueQueue('hostile'),
      ...(limits ? { limits } : {}),
    });
    await extend?.(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    api.port = (app.server.address() as AddressInfo).port;
    close = () => app.close();
  });
  afterAll(async () => {
    await close?.();
    await api.deps?.cleanup();
    await env?.teardown();
  });
  return api;
}

describe('the API against slow and hostile clients', () => {
  const api = useApi(
    apiLimitsSchema.parse({
      bodyTimeoutMs: 300,
      bodyLimitBytes: 4096,
      unauthenticated: { max: LIMIT, windowMs: 60 * 60 * 1000 },
    }),
    // A byte-stream route like the console's SOL and IDE-R (config.stream), counting what it receives.
    async (app) =>
      app.register(async (scope) => {
        scope.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
        scope.post('/stream-probe', { config: { stream: true } }, async (request) => {
          let bytes = 0;
          for await (const chunk of request.body as AsyncIterable<Buffer>) bytes += chunk.length;
          return { bytes };
        });
      }),
  );

  const url = (route: string) => `http://127.0.0.1:${api.port}/api/v1${route}`;

  /** Sends `head` and part of a body over a raw socket, never the rest; resolves with what the server answers. */
  function sendPartly(head: string, partial: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(api.port, '127.0.0.1', () => socket.write(head + partial));
      let answer = '';
      socket.on('data', (chunk) => {
        answer += chunk.toString('utf8');
        if (answer.includes('\r\n\r\n') && answer.includes('}')) {
          socket.destroy();
          resolve(answer);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(answer));
    });
  }

  it('answers 408 REQUEST_TIMEOUT to a body that does not arrive whole, and keeps serving', async () => {
    const body = '{"uuid":"00000000-0000-4000-8000-00000000000a","otpHash":"';
    const answer = await sendPartly(
      'POST /api/v1/agent/reports HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length + 100}\r\n\r\n`,
      body,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    expect((await fetch(`http://127.0.0.1:${api.port}/health`)).status).toBe(200);
  });

  it('lets a stream route outlive the body deadline', async () => {
    // The stream starts first; a JSON body started after it is answered 408 — by then the stream's
    // deadline would have passed too — and the stream still completes.
    const stream = connect(api.port, '127.0.0.1');
    let answer = '';
    stream.on('data', (chunk) => (answer += chunk.toString('utf8')));
    const closed = new Promise((resolve) => stream.on('close', resolve));
    await new Promise<void>((resolve) =>
      stream.write(
        'POST /stream-probe HTTP/1.1\r\nHost: api\r\nContent-Type: application/octet-stream\r\n' +
          'Content-Length: 10\r\nConnection: close\r\n\r\n12345',
        () => resolve(),
      ),
    );
    const late = await sendPartly(
      'POST /api/v1/agent/reports HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n',
      '{"uuid":',
    );
    expect(late).toMatch(/^HTTP\/1\.1 408 /);
    stream.end('67890');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('{"bytes":10}');
  });

  it('refuses a body over the limit with 413', async () => {
    const { authorization } = await principalWith(api.deps.store, 'big-body', [
      { collection: ALL_COLLECTIONS, role: 'administrator' },
    ]);
    const response = await fetch(url('/devices'), {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ uuid: 'x'.repeat(8192), hostName: 'a', domain: 'b' }),
    });
    expect(response.status).toBe(413);
  });

  it('answers a flood of bad tokens 429 past the limit, and the audit log does not grow per request', async () => {
    const auditRows = async () => (await api.deps.store.audit.recent({ limit: 100_000 })).length;
    const before = await auditRows();
    const statuses: number[] = [];
    for (let i = 0; i < 4 * LIMIT; i++) {
      const response = await fetch(url('/devices'), { headers: { authorization: `Bearer not-a-token-${i}` } });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(await response.json()).toMatchObject({ code: 'RATE_LIMITED' });
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(401), ...Array(3 * LIMIT).fill(429)]);
    // The first refusal of this source in the window, and the moment it went over the limit.
    const rows = await api.deps.store.audit.recent({ actor: 'anonymous', limit: 100 });
    expect(await auditRows()).toBe(before + 2);
    expect(rows.map((r) => r.action).sort()).toEqual(['api.get /devices', 'api.rate-limited']);
    // An agent without a credential counts against the same source.
    const agent = await fetch(url('/agent/reports'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(agent.status).toBe(429);
    expect(await auditRows()).toBe(before + 2);
  });

  it('counts racing refusals from one source once each, and refuses a source over the limit before any token is looked up', async () => {
    // Another loopback source than the other tests', so this one has a window of its own.
    const source = '127.0.0.9';
    const get = (authorization: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: api.port,
            path: '/api/v1/devices',
            localAddress: source,
            headers: { authorization },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const audited = async () =>
      (await api.deps.store.audit.recent({ actor: 'anonymous', limit: 1000 })).filter(
        (r) => r.target === `source:${source}` || r.target === 'devices',
      ).length;
    const before = await audited();
    const statuses = await Promise.all(Array.from({ length: 3 * LIMIT }, (_, i) => get(`Bearer amtf_racing-${i}`)));
    // However the refusals interleave: LIMIT answered 401, the rest 429; one audit row for the
    // source's first refusal and one for the moment it went over.
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * LIMIT);
    expect((await audited()) - before).toBe(2);
    // Over the limit, the source is refused before its credential is checked — a valid one too —
    // and nothing more is audited.
    const { authorization } = await principalWith(api.deps.store, 'behind-a-flood', [
      { collection: ALL_COLLECTIONS, role: 'view' },
    ]);
    expect(await get(authorization)).toBe(429);
    expect((await audited()) - before).toBe(2);
  });
});

/** Opens a raw connection, writes `data` (if any), and resolves with all it received once the server closed it. */
function untilClosed(port: number, data?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      if (data) socket.write(data);
    });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

describe('the API closes connections that hold it up (api.headersTimeoutMs)', () => {
  // The idle timeout closes the same connection later, silently: whichever limit ends it shows in
  // what the client receives — Node's own headers timeout (60 s) or its 30 s sweep would lose to it.
  const api = useApi(apiLimitsSchema.parse({ headersTimeoutMs: 300, connectionTimeoutMs: 5000 }));

  it('answers 408 and closes a connection whose request headers never end', async () => {
    const received = await untilClosed(api.port, 'GET /health HTTP/1.1\r\nHost: api\r\nX-Slow: ');
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect((await fetch(`http://127.0.0.1:${api.port}/health`)).status).toBe(200);
  });
});

describe('the API closes idle connections (api.connectionTimeoutMs, api.keepAliveTimeoutMs)', () => {
  // The headers deadline far away, so only the idle timeouts can end these connections.
  const api = useApi(
    apiLimitsSchema.parse({ headersTimeoutMs: 600_000, connectionTimeoutMs: 1000, keepAliveTimeoutMs: 3000 }),
  );

  it('closes a connection that sends nothing, without an answer', async () => {
    expect(await untilClosed(api.port)).toBe('');
  });

  // The close itself would happen under Node's defaults too; the configured keep-alive timeout is
  // what the Keep-Alive header shows.
  it('announces its configured keep-alive timeout on an idle connection, which it then closes', async () => {
    const received = await untilClosed(api.port, 'GET /health HTTP/1.1\r\nHost: api\r\n\r\n');
    // One answer, no second one (a 408 would be the headers deadline, not the idle timeout).
    expect(received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/\r\nKeep-Alive: timeout=3\r\n/i);
  });
});

describe('provisioning chains through the API (issue 12 §2)', () => {
  const api = useApi();
  const PASSWORD = 'Chain-Export-Pa55';

  /** A provisioning certificate for corp.example.test under a root of its own, signed with `digest`. */
  function vendorChain(name: string, digest: 'sha1' | 'sha256') {
    const rootKey = rsaKey(2048);
    const leafKey = rsaKey(2048);
    const root = foreignCertificate({
      subject: [{ shortName: 'CN', value: `${name} Root` }],
      key: rootKey,
      ca: true,
      digest,
    });
    const leaf = foreignCertificate({
      subject: [{ shortName: 'CN', value: `oobsp-${name}.corp.example.test` }],
      key: leafKey,
      issuer: { certificate: root, key: rootKey },
      extKeyUsage: [SERVER_AUTH_OID, AMT_PROVISIONING_OID],
      serial: '6161',
      digest,
    });
    return pkcs12(leafKey, [leaf, root], PASSWORD).toString('base64');
  }

  const post = (authorization: string, body: unknown) =>
    fetch(`http://127.0.0.1:${api.port}/api/v1/provisioning-chains`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('adds a chain for an administrator only, refuses SHA-1 unless for older firmware, audits without the password', async () => {
    const admin = await principalWith(api.deps.store, 'pki-admin', [
      { collection: ALL_COLLECTIONS, role: 'administrator' },
    ]);
    const manager = await principalWith(api.deps.store, 'pki-manager', [
      { collection: ALL_COLLECTIONS, role: 'manage' },
    ]);
    const strong = vendorChain('modern', 'sha256');

    expect((await post(manager.authorization, { pkcs12: strong, password: PASSWORD })).status).toBe(403);

    const added = await post(admin.authorization, { pkcs12: strong, password: PASSWORD });
    expect(added.status).toBe(201);
    const chain = (await added.json()) as { commonName: string; rootThumbprints: { sha256: string } };
    expect(chain).toMatchObject({ commonName: 'oobsp-modern.corp.example.test', warnings: [] });
    expect(api.deps.ca.provisioning.summaries().map((s) => s.rootThumbprints.sha256)).toContain(
      chain.rootThumbprints.sha256,
    );

    // A wrong password and a SHA-1 chain are refused as at import, nothing stored.
    const wrong = await post(admin.authorization, { pkcs12: strong, password: 'not-it' });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ code: 'PKCS12_PASSWORD_INVALID' });
    const weak = vendorChain('legacy', 'sha1');
    const refused = await post(admin.authorization, { pkcs12: weak, password: PASSWORD });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: 'WEAK_PROVISIONING_CHAIN' });
    expect(api.deps.ca.provisioning.summaries()).toHaveLength(2);

    const kept = await post(admin.authorization, { pkcs12: weak, password: PASSWORD, olderFirmwareOnly: true });
    expect(kept.status).toBe(201);
    expect(((await kept.json()) as { warnings: string[] }).warnings.join('\n')).toMatch(/AMT 15\/16 and later refuse/);

    // The same through the CLI, the password from a file; the chain under the same root is replaced.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-chain-cli-'));
    writeFileSync(path.join(dir, 'chain.p12'), Buffer.from(strong, 'base64'));
    writeFileSync(path.join(dir, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/main.ts',
        '--json',
        'provisioning-chains',
        'add',
        path.join(dir, 'chain.p12'),
        '--password-file',
        path.join(dir, 'password'),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          AMTFLOW_API_URL: `http://127.0.0.1:${api.port}`,
          AMTFLOW_TOKEN: admin.authorization.slice('Bearer '.length),
        },
      },
    ).catch((err: unknown) => {
      throw new Error(`amtflow provisioning-chains add failed: ${String((err as { stderr?: string }).stderr ?? err)}`);
    });
    expect(JSON.parse(stdout)).toMatchObject({ commonName: 'oobsp-modern.corp.example.test' });
    rmSync(dir, { recursive: true, force: true });

    const listed = (await (
      await fetch(`http://127.0.0.1:${api.port}/api/v1/provisioning-chains`, {
        headers: { authorization: admin.authorization },
      })
    ).json()) as { chains: unknown[] };
    expect(listed.chains).toHaveLength(3);

    const audit = await api.deps.store.audit.recent({ actor: 'pki-admin', limit: 10 });
    expect(audit.map((r) => [r.action, r.outcome])).toEqual(
      expect.arrayContaining([
        ['api.post /provisioning-chains', 'success'],
        ['api.post /provisioning-chains', 'failure'],
      ]),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        target: `provisioning-chain:${chain.rootThumbprints.sha256}`,
        details: expect.objectContaining({ commonName: 'oobsp-modern.corp.example.test' }),
      }),
    );
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
  });
});

describe('provisioning chains on an API process started without the CA', () => {
  const api = useApi(undefined, undefined, { withCa: false });

  it('answers 503 CA_UNAVAILABLE, not an internal error', async () => {
    const admin = await principalWith(api.deps.store, 'pki-admin', [
      { collection: ALL_COLLECTIONS, role: 'administrator' },
    ]);
    const response = await fetch(`http://127.0.0.1:${api.port}/api/v1/provisioning-chains`, {
      headers: { authorization: admin.authorization },
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'CA_UNAVAILABLE' });
  });
});

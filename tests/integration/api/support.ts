import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { buildApiServer, type ApiServerDeps } from '../../../api/server';
import type { CertificateAuthority } from '../../../lib/pki';
import { SecretBox } from '../../../lib/crypto/secret-box';
import type { DeviceUuid } from '../../../lib/device-uuid';
import type { Role } from '../../../lib/rights';
import { createStore, type Store } from '../../../lib/store';
import { openDatabase, type Database } from '../../../lib/store/database';
import { newDeviceUuid } from '../../support/device-uuid';

/** A migrated in-memory PGlite and a store over it, one per test file (PGlite takes seconds to start). */
export function useApiStore(): { store: Store; database: Database } {
  const fixture = {} as { store: Store; database: Database };
  beforeAll(async () => {
    fixture.database = await openDatabase({});
    fixture.store = createStore(fixture.database, new SecretBox(randomBytes(32)));
  });
  afterAll(async () => fixture.database?.close());
  return fixture;
}

/** A logger whose JSON lines the test can read back. */
export function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** An imported device in a collection whose automatic provisioning is as asked. */
export async function importDevice(store: Store, automaticProvisioning: boolean): Promise<DeviceUuid> {
  const uuid = newDeviceUuid();
  const collection = `lab-${uuid.slice(0, 8)}`;
  await store.profiles.save('defaults', {});
  await store.collections.save({ name: collection, automaticProvisioning, settingsProfile: 'defaults' });
  await store.devices.importComputer({
    uuid,
    hostName: `amt-${uuid.slice(0, 8)}`,
    domain: 'corp.example.test',
    collection,
  });
  return uuid;
}

/** A principal with the given roles and a fresh token for it: the `Authorization` header to send. */
export async function principalWith(
  store: Store,
  name: string,
  grants: ReadonlyArray<{ collection: string; role: Role }>,
): Promise<{ authorization: string }> {
  if (!(await store.principals.get(name))) await store.principals.create({ name });
  for (const grant of grants) await store.principals.grant(name, grant);
  const { token } = await store.principals.issueToken(name, 'test');
  return { authorization: `Bearer ${token}` };
}

/** A port nothing listens on right now, for a process or listener that binds it next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The API over `store` and `client` on a free loopback port, as the front door builds it (silent
 * logger, fresh token key unless `options` say otherwise): its origin, and how to close it.
 */
export async function listenApi(
  deps: { store: Store; ca: Pick<CertificateAuthority, 'crl'> },
  client: Client,
  options: Partial<ApiServerDeps> = {},
): Promise<{ origin: string; close: () => Promise<void> }> {
  const app = await buildApiServer({
    store: deps.store,
    client,
    crl: () => deps.ca.crl(),
    logger: pino({ level: 'silent' }),
    ...options,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    origin: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
}

/**
 * `call(headers, method, url, body?, type?)` against the API under `base()` (read when called: the
 * API listens once the file's `beforeAll` ran). A string body is sent as is, with `type`.
 */
export function apiCaller(base: () => string) {
  return async function call(
    headers: Record<string, string>,
    method: string,
    url: string,
    body?: unknown,
    type?: string,
  ) {
    const response = await fetch(base() + url, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': type ?? 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read any field
    return { status: response.status, headers: response.headers, text, json: (): any => JSON.parse(text) };
  };
}

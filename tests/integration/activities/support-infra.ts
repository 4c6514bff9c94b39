import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import type { Client } from 'ldapts';
import type { Database } from '../../../lib/store/database';
import type { Device } from '../../../lib/store';
import type { TestDeps } from '../../support/activity-env';
import { newDeviceUuid } from '../../support/device-uuid';
import { changesSince, highestCommittedUsn } from '../../support/directory';

/** What these tests need around the activities: devices, failures, and proof that nothing changed. */

export { newDeviceUuid };

/** Imports a computer (OOB2) in a collection with the given settings profile, if any. */
export async function importDevice(
  deps: TestDeps,
  hostName: string,
  options: { domain?: string; profile?: string; windowsComputerDn?: string } = {},
): Promise<Device> {
  let collection: string | undefined;
  if (options.profile) {
    collection = `collection-${options.profile}`;
    await deps.store.collections.save({ name: collection, settingsProfile: options.profile });
  }
  const { device } = await deps.store.devices.importComputer({
    uuid: newDeviceUuid(),
    hostName,
    domain: options.domain ?? 'corp.example.test',
    ...(collection ? { collection } : {}),
    ...(options.windowsComputerDn ? { windowsComputerDn: options.windowsComputerDn } : {}),
  });
  return device;
}

/** The typed Temporal failure an activity ended with; it must be final (non-retryable). */
export async function finalFailure(promise: Promise<unknown>, code: string): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: code, nonRetryable: true });
  return err as ApplicationFailure;
}

/** Every row of every table of the site database, to compare before and after a refused request. */
export async function databaseSnapshot(database: Pick<Database, 'db'>): Promise<Record<string, unknown[]>> {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(database.db);
  const snapshot: Record<string, unknown[]> = {};
  for (const { name } of tables.rows) {
    const rows = await sql`select * from ${sql.table(name)}`.execute(database.db);
    snapshot[name] = rows.rows.map((row) => JSON.stringify(row)).sort();
  }
  return snapshot;
}

/**
 * Runs a request that must be refused with `code`, and proves that neither the site database (every
 * row of every table, certificates included) nor the directory (its highest committed USN, which
 * every write in any partition advances) changed.
 */
export async function expectRefusedUnchanged(
  deps: Pick<TestDeps, 'database'>,
  admin: Client | undefined,
  request: () => Promise<unknown>,
  code: string,
): Promise<ApplicationFailure> {
  const before = await databaseSnapshot(deps.database);
  const usn = admin ? await highestCommittedUsn(admin) : 0;
  const failure = await finalFailure(request(), code);
  expect(await databaseSnapshot(deps.database)).toEqual(before);
  if (admin) expect(await changesSince(admin, usn)).toEqual([]);
  return failure;
}

/**
 * Firmware older than the emulator models (AMT before 3.2.1): answers every request with a 401 and
 * the `Server` header of that release, as AMT does to an unauthenticated request.
 */
export async function oldFirmware(version: string): Promise<{ host: string; port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(401, {
      Server: `Intel(R) Active Management Technology ${version}`,
      'WWW-Authenticate': 'Digest realm="Digest:00000000000000000000000000000000", nonce="bm9uY2U=", qop="auth"',
      'Content-Type': 'text/html',
      Connection: 'close',
    });
    res.end('<html>Log on failed</html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

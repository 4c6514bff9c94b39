import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateAmtPassword } from '../../../lib/crypto/passwords';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { openDatabase, type Database } from '../../../lib/store/database';
import { createStore, type CredentialKind } from '../../../lib/store';
import { backends, type TestBackend } from '../../support/databases';
import { sampleProfile, type SampleSecrets } from '../../unit/store/sample-profile';

/** A named byte image of stored data: one database file, or a whole dump. */
interface Image {
  name: string;
  bytes: Buffer;
}

/**
 * Opens a database whose stored bytes can be read afterwards: PGlite in a temporary data
 * directory (every file under it, after a clean close), PostgreSQL through `pg_dump`.
 */
async function openForScan(backend: TestBackend): Promise<{
  database: Database;
  capture(): Promise<Image[]>;
  cleanup(): Promise<void>;
}> {
  if (backend.name === 'pglite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-scan-'));
    const database = await openDatabase({ dataDir: dir });
    let closed = false;
    return {
      database,
      async capture() {
        await database.close();
        closed = true;
        return readdirSync(dir, { recursive: true, encoding: 'utf8' })
          .filter((name) => statSync(path.join(dir, name)).isFile())
          .map((name) => ({ name, bytes: readFileSync(path.join(dir, name)) }));
      },
      async cleanup() {
        if (!closed) await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const database = await backend.open();
  return {
    database,
    async capture() {
      const { stdout } = await promisify(execFile)('pg_dump', ['--no-owner', '--dbname', database.url as string], {
        encoding: 'buffer',
        maxBuffer: 256 * 1024 * 1024,
      });
      return [{ name: 'pg_dump', bytes: stdout }];
    },
    cleanup: () => database.close(),
  };
}

/**
 * The byte forms a secret could take if it were stored carelessly: UTF-8, UTF-16LE, and base64 or
 * base64url at each of the three alignments it could have inside a longer encoded value (only the
 * characters that depend on the secret's bytes alone are kept).
 */
function forms(secret: string | Buffer): [string, Buffer][] {
  const raw = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  const result: [string, Buffer][] = [['utf8', raw]];
  if (typeof secret === 'string') result.push(['utf16le', Buffer.from(secret, 'utf16le')]);
  for (const alphabet of ['base64', 'base64url'] as const) {
    for (let shift = 0; shift < 3; shift++) {
      const encoded = Buffer.concat([Buffer.alloc(shift), raw]).toString(alphabet);
      const first = Math.ceil((8 * shift) / 6);
      const end = Math.floor((8 * (shift + raw.length)) / 6);
      result.push([`${alphabet}@${shift}`, Buffer.from(encoded.slice(first, end), 'latin1')]);
    }
  }
  return result;
}

/** Where any form of `secret` occurs, as `image: form` (the secret itself is not repeated). */
function occurrences(images: Image[], secret: string | Buffer): string[] {
  return images.flatMap((image) =>
    forms(secret)
      .filter(([, bytes]) => image.bytes.includes(bytes))
      .map(([form]) => `${image.name}: ${form}`),
  );
}

const randomSecrets = (): SampleSecrets => ({
  digestPassword: generateAmtPassword(),
  passphrase: `psk ${randomBytes(12).toString('hex')}`,
  wirelessEapPassword: generateAmtPassword(20),
  wiredEapPassword: generateAmtPassword(20),
  mebxPassword: generateAmtPassword(),
});

describe.each(backends)('secrets at rest on $name', (backend) => {
  it('finds none of the passwords it created in the database files or dump, in any encoding', async () => {
    const key = randomBytes(32);
    const scan = await openForScan(backend);
    try {
      const store = createStore(scan.database, new SecretBox(key));
      const created: string[] = [];

      const profileSecrets = randomSecrets();
      created.push(...Object.values(profileSecrets));
      await store.profiles.save('desktops', sampleProfile(profileSecrets));
      await store.collections.save({ name: 'Head office', automaticProvisioning: true, settingsProfile: 'desktops' });

      const devices = Array.from({ length: 3 }, () => {
        const hex = randomBytes(16).toString('hex');
        return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      });
      for (const [i, uuid] of devices.entries()) {
        await store.devices.importComputer({
          uuid,
          hostName: `pc${i}`,
          domain: 'corp.example.test',
          collection: 'Head office',
        });
        const stage = async (kind: CredentialKind, step: string, value?: string) => {
          const staged = await store.credentials.stagePending(uuid, kind, `wf-${i}/${step}`, { value });
          created.push(await store.credentials.reveal(staged));
          return staged;
        };
        // Several admin passwords: rotated twice, the last one left pending as after a crash.
        for (const step of ['OOB8.4', 'rotate-1', 'rotate-2'])
          await store.credentials.promote(await stage('amt_admin', step));
        await stage('amt_admin', 'rotate-3');
        await store.credentials.promote(
          await stage('mebx', 'OOB8.5', i === 0 ? profileSecrets.mebxPassword : undefined),
        );
        await store.credentials.promote(await stage('directory_account', 'I3'));
        await store.results.record(
          { device: uuid, operation: 'provision', workflowId: `wf-${i}`, outcome: 'succeeded', summary: 'provisioned' },
          `wf-${i}/OOB10`,
        );
      }
      expect(new Set(created).size).toBeGreaterThanOrEqual(5 + 3 * 6 - 1);

      // Positive controls: the scan does find a value stored in clear, and one stored base64-encoded.
      const canary = `canary-${randomBytes(8).toString('hex')}`;
      const encodedCanary = `encoded-${randomBytes(8).toString('hex')}`;
      await store.audit.append({
        actor: 'test',
        action: 'scan.canary',
        target: canary,
        outcome: 'success',
        details: { blob: Buffer.from(`x${encodedCanary}`).toString('base64') },
      });

      const images = await scan.capture();
      expect(occurrences(images, canary).some((hit) => hit.endsWith(': utf8'))).toBe(true);
      expect(occurrences(images, encodedCanary).some((hit) => hit.includes(': base64@'))).toBe(true);

      for (const secret of created) expect(occurrences(images, secret)).toEqual([]);
      // Nor the key-encryption key: it never enters the database.
      expect(occurrences(images, key)).toEqual([]);
    } finally {
      await scan.cleanup();
    }
  });
});

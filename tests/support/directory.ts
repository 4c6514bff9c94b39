import { execFile } from 'node:child_process';
import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Control, escapeFilter } from 'ldapts';
import type { DirectoryConfig } from '../../lib/config';
import { childDn, escapeDnValue } from '../../lib/directory/dn';
import { runWithInput, sambaDc, sambaDirectoryConfig, TEST_DC_IP } from '../../scripts/samba-dc';

/**
 * The test Samba AD DC (started by tests/integration/global-setup.ts) and what tests need around it:
 * an Administrator connection for fixtures, the check that an operation wrote nothing, forest
 * fixtures, and the keys Samba stored for an account.
 */
// The address is overridable so that two checkouts can run their suites side by side.
export const TEST_DC = sambaDc({
  stateDir: path.resolve(__dirname, '..', '..', '.state', 'test'),
  ip: process.env.AMTFLOW_TEST_DC_IP ?? TEST_DC_IP,
});

const run = promisify(execFile);

export function testDirectoryConfig(overrides: Partial<DirectoryConfig> = {}): DirectoryConfig {
  return { ...sambaDirectoryConfig(TEST_DC), ...overrides };
}

/** A short random tag so objects of concurrent or earlier runs never collide. */
export function uniqueTag(): string {
  return randomBytes(4).toString('hex');
}

/** Administrator over LDAPS, for fixtures and for reading the directory behind the adapter's back. */
export async function adminClient(): Promise<Client> {
  const config = testDirectoryConfig();
  const client = new Client({
    url: config.url,
    tlsOptions: { ca: readFileSync(TEST_DC.caFile), servername: TEST_DC.serverName },
  });
  await client.bind(config.bindDn, readFileSync(TEST_DC.adminPasswordFile, 'utf8'));
  return client;
}

export async function highestCommittedUsn(client: Client): Promise<number> {
  const { searchEntries } = await client.search('', { scope: 'base', attributes: ['highestCommittedUSN'] });
  return Number(searchEntries[0]?.highestCommittedUSN);
}

/** Deleted objects (tombstones) are visible only with the show-deleted control. */
const SHOW_DELETED = new Control('1.2.840.113556.1.4.417');

/**
 * What the DC wrote since `usn`. Every write, in any partition, takes a new update sequence number,
 * so nothing was written when the highest committed USN has not moved; otherwise the DNs
 * of the objects changed, created or deleted (tombstones included), for the failure message.
 */
export async function changesSince(client: Client, usn: number): Promise<string[]> {
  if ((await highestCommittedUsn(client)) === usn) return [];
  const changed: string[] = [];
  for (const base of [TEST_DC.domainDn, `CN=Configuration,${TEST_DC.domainDn}`]) {
    const { searchEntries } = await client.search(
      base,
      { scope: 'sub', filter: `(uSNChanged>=${usn + 1})`, attributes: ['1.1'] },
      SHOW_DELETED,
    );
    changed.push(...searchEntries.map((e) => e.dn));
  }
  return changed.length > 0 ? changed : ['(the highest committed USN moved)'];
}

function ldb(tool: 'ldbadd' | 'ldbdel', args: string[], input = ''): Promise<string> {
  return runWithInput(tool, [`--configfile=${TEST_DC.smbConf}`, '-H', TEST_DC.samLdb, ...args], input);
}

const partitions = () => `CN=Partitions,CN=Configuration,${TEST_DC.domainDn}`;

/**
 * Declares another domain of the forest, as a multi-domain forest's crossRef shows it to a DC that
 * does not hold that domain. Over LDAP the DC refuses a crossRef whose naming context it cannot
 * find, so the crossRef goes in through the DC's own database (trusted, with the relax control) —
 * the adapter then discovers it over LDAP like any other.
 */
export async function addForestDomain(dnsName: string, netbiosName: string): Promise<string> {
  const dn = childDn('CN', netbiosName, partitions());
  const client = await adminClient();
  try {
    const { searchEntries } = await client.search(partitions(), {
      scope: 'one',
      filter: escapeFilter`(dnsRoot=${dnsName})`,
      attributes: ['1.1'],
    });
    if (searchEntries.length > 0) return dn;
  } finally {
    await client.unbind();
  }
  const nc = dnsName
    .split('.')
    .map((label) => `DC=${escapeDnValue(label)}`)
    .join(',');
  await ldb(
    'ldbadd',
    ['--relax'],
    [
      `dn: ${dn}`,
      'objectClass: top',
      'objectClass: crossRef',
      `nCName: ${nc}`,
      `dnsRoot: ${dnsName}`,
      `nETBIOSName: ${netbiosName}`,
      'systemFlags: 3',
      '',
    ].join('\n'),
  );
  return dn;
}

export async function removeForestDomain(crossRefDn: string): Promise<void> {
  await ldb('ldbdel', [crossRefDn]).catch(() => undefined);
}

export interface StoredKeys {
  /** The NT hash Samba stores as unicodePwd. */
  ntHash: Buffer;
  /** The salt Samba derived its AES keys with. */
  salt: string;
  keyVersionNumber: number;
}

/** The keys Samba stored for an account, read from its database with samba-tool (root only). */
export async function storedKeys(samAccountName: string): Promise<StoredKeys> {
  const { stdout } = await run('samba-tool', [
    'user',
    'getpassword',
    `--filter=(sAMAccountName=${samAccountName})`,
    '--attributes=unicodePwd,virtualKerberosSalt,msDS-KeyVersionNumber',
    '-s',
    TEST_DC.smbConf,
    '-H',
    TEST_DC.samLdb,
  ]);
  const field = (name: string) => new RegExp(`^${name}(::?) (.*)$`, 'm').exec(stdout);
  const nt = field('unicodePwd');
  const salt = field('virtualKerberosSalt');
  const kvno = field('msDS-KeyVersionNumber');
  if (!nt || !salt || !kvno) throw new Error(`samba-tool user getpassword ${samAccountName}: incomplete output`);
  return {
    ntHash: Buffer.from(nt[2] as string, 'base64'),
    salt: salt[1] === '::' ? Buffer.from(salt[2] as string, 'base64').toString('utf8') : (salt[2] as string),
    keyVersionNumber: Number(kvno[2]),
  };
}

/*
 * Kerberos against the test DC's KDC, with MIT's client tools: a ticket for an AMT SPN, checked
 * against a keytab built from the key material amtflow would give the firmware. If the SPN, the key
 * version number or the key were wrong, `kvno -k` could not decrypt the ticket.
 */

/** The 128-bit n-fold of "kerberos" (RFC 3961 test vectors), the constant of the key derivation. */
const KERBEROS_NFOLD = Buffer.from('6b65726265726f737b9b5b2b93132b93', 'hex');

/** RFC 3962 string-to-key: PBKDF2-HMAC-SHA1, then DK(tkey, "kerberos") with AES in one-block CBC. */
export function aesKey(passphrase: string, salt: string, iterations: number, bytes: 16 | 32): Buffer {
  const tkey = pbkdf2Sync(passphrase, salt, iterations, bytes, 'sha1');
  const blocks: Buffer[] = [];
  let input = KERBEROS_NFOLD;
  while (blocks.length * 16 < bytes) {
    const cipher = createCipheriv(`aes-${bytes * 8}-cbc`, tkey, Buffer.alloc(16));
    cipher.setAutoPadding(false);
    input = Buffer.concat([cipher.update(input), cipher.final()]);
    blocks.push(input);
  }
  return Buffer.concat(blocks).subarray(0, bytes);
}

/** Kerberos encryption type numbers (RFC 3961 / RFC 4757) of the keys a keytab entry can hold. */
export const ENCTYPE = { 'rc4-hmac': 23, 'aes256-cts-hmac-sha1-96': 18 } as const;

/** Writes an MIT keytab (format 0x0502) with one key for `principal` (`service/host@REALM`). */
export function writeKeytab(file: string, principal: string, kvno: number, enctype: number, key: Buffer): void {
  const counted = (b: Buffer) => Buffer.concat([u16(b.length), b]);
  const [name = '', realm = ''] = principal.split('@');
  const components = name.split('/');
  const entry = Buffer.concat([
    u16(components.length),
    counted(Buffer.from(realm)),
    ...components.map((c) => counted(Buffer.from(c))),
    u32(1), // KRB5_NT_PRINCIPAL
    u32(0), // timestamp
    Buffer.from([kvno & 0xff]),
    u16(enctype),
    counted(key),
    u32(kvno),
  ]);
  writeFileSync(file, Buffer.concat([u16(0x0502), u32(entry.length), entry]));
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * Logs in as Administrator at the test DC's KDC and asks for a service ticket for `spn`, which
 * `kvno -k` decrypts with the keytab. Resolves with kvno's report ("kvno = N, keytab entry valid").
 */
export async function verifyServiceTicket(spn: string, keytab: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'amtflow-krb5-'));
  const krb5Conf = path.join(dir, 'krb5.conf');
  writeFileSync(
    krb5Conf,
    [
      '[libdefaults]',
      `  default_realm = ${TEST_DC.realm}`,
      '  dns_lookup_kdc = false',
      '  dns_lookup_realm = false',
      '  rdns = false',
      '[realms]',
      `  ${TEST_DC.realm} = {`,
      `    kdc = ${TEST_DC.ip}`,
      '  }',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, KRB5_CONFIG: krb5Conf, KRB5CCNAME: `FILE:${path.join(dir, 'ccache')}` };
  try {
    await runWithInput(
      'kinit',
      [`Administrator@${TEST_DC.realm}`],
      readFileSync(TEST_DC.adminPasswordFile, 'utf8'),
      env,
    );
    const { stdout } = await run('kvno', ['-k', keytab, `${spn}@${TEST_DC.realm}`], { env });
    return stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

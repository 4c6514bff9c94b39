import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError, type Change, type Entry, type SearchOptions } from 'ldapts';
import type { DirectoryConfig } from '../config';
import { DirectoryError } from './errors';

/** LDAP result codes amtflow reacts to (RFC 4511 appendix A). */
export const LDAP = {
  strongAuthRequired: 8,
  confidentialityRequired: 13,
  noSuchAttribute: 16,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  noSuchObject: 32,
  invalidDnSyntax: 34,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  entryAlreadyExists: 68,
} as const;

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** The LDAP result code behind a translated error, if the server sent one. */
export function ldapCodeOf(err: unknown): number | undefined {
  if (err instanceof DirectoryError && typeof err.details.ldapCode === 'number') return err.details.ldapCode;
  return undefined;
}

/**
 * Turns what ldapts and node:tls throw into DirectoryErrors. `action` says what amtflow was doing,
 * in words an operator can match to a permission ("create", "set the password of", ...).
 */
function translate(err: unknown, action: string, dn: string, bindDn: string): DirectoryError {
  if (err instanceof DirectoryError) return err;
  if (err instanceof ResultCodeError) {
    const details = { ldapCode: err.code, dn };
    switch (err.code) {
      case LDAP.invalidCredentials:
        return new DirectoryError(
          'DIRECTORY_AUTH_FAILED',
          `the directory refused the bind as ${bindDn}: check the password in directory.bindPasswordFile ` +
            'and that the account is enabled and not locked out',
          details,
          { cause: err },
        );
      case LDAP.insufficientAccessRights:
        return new DirectoryError(
          'DIRECTORY_ACCESS_DENIED',
          `${bindDn} is not allowed to ${action} ${dn}; delegate that right to it (see docs/directory.md)`,
          details,
          { cause: err },
        );
      case LDAP.busy:
      case LDAP.unavailable:
        return new DirectoryError(
          'DIRECTORY_UNAVAILABLE',
          `the directory is busy or unavailable (${err.message})`,
          details,
          {
            cause: err,
          },
        );
      case LDAP.strongAuthRequired:
      case LDAP.confidentialityRequired:
        return new DirectoryError(
          'DIRECTORY_INSECURE',
          `the directory requires an encrypted session to ${action} ${dn}; use ldaps:// or StartTLS`,
          details,
          { cause: err },
        );
      default:
        return new DirectoryError(
          'DIRECTORY_OPERATION_FAILED',
          `could not ${action} ${dn}: ${err.message} (LDAP result ${err.code})`,
          details,
          { cause: err },
        );
    }
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (/CERT|SIGNATURE|ALTNAME|SELF_SIGNED|ISSUER/.test(code)) {
    return new DirectoryError(
      'DIRECTORY_TLS_UNTRUSTED',
      `the directory's TLS certificate is not trusted (${code}: ${message}); set directory.caFile to the CA ` +
        'that issued it, and directory.tlsServerName when the URL names the server by address',
      { tlsError: code },
      { cause: err },
    );
  }
  if (NETWORK_ERRORS.has(code) || /timeout|timed out|socket|connection closed/i.test(message)) {
    return new DirectoryError(
      'DIRECTORY_UNAVAILABLE',
      `the directory cannot be reached to ${action} ${dn}: ${message}`,
      {},
      {
        cause: err,
      },
    );
  }
  return new DirectoryError('DIRECTORY_OPERATION_FAILED', `could not ${action} ${dn}: ${message}`, {}, { cause: err });
}

function readSecretFile(file: string, key: string): string {
  try {
    // One trailing newline is an editor's, not the password's.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new DirectoryError(
      'DIRECTORY_CONFIG_INVALID',
      `${key} ${file} cannot be read (${(err as NodeJS.ErrnoException).code})`,
      {},
      {
        cause: err,
      },
    );
  }
}

function tlsOptions(config: DirectoryConfig, host: string): ConnectionOptions {
  const options: ConnectionOptions = { host, minVersion: 'TLSv1.2' };
  if (config.caFile) {
    try {
      options.ca = readFileSync(config.caFile);
    } catch (err) {
      throw new DirectoryError(
        'DIRECTORY_CONFIG_INVALID',
        `directory.caFile ${config.caFile} cannot be read (${(err as NodeJS.ErrnoException).code})`,
        {},
        { cause: err },
      );
    }
  }
  // node:tls verifies the certificate against `servername` when given, else `host`; SNI must not be an IP.
  const serverName = config.tlsServerName ?? (isIP(host) ? undefined : host);
  if (serverName) options.servername = serverName;
  return options;
}

/**
 * One bound LDAP connection. Every call translates failures into DirectoryErrors; searches return
 * entries only (continuation references to other naming contexts are not followed: amtflow works in
 * the naming contexts its domain controller holds).
 */
export class LdapSession {
  private constructor(
    private readonly client: Client,
    private readonly bindDn: string,
    /** True when the session runs over TLS (LDAPS or StartTLS); passwords are only set then. */
    readonly encrypted: boolean,
  ) {}

  static async open(config: DirectoryConfig): Promise<LdapSession> {
    const url = new URL(config.url);
    const ldaps = url.protocol === 'ldaps:';
    const startTls = !ldaps && config.startTls;
    if (!ldaps && !startTls && !config.allowPlain) {
      throw new DirectoryError(
        'DIRECTORY_INSECURE',
        `directory.url ${config.url} is plain LDAP: use ldaps://, or keep startTls on; plain LDAP needs directory.allowPlain (development only)`,
      );
    }
    const password = readSecretFile(config.bindPasswordFile, 'directory.bindPasswordFile');
    const tls = ldaps || startTls ? tlsOptions(config, url.hostname) : undefined;
    const client = new Client({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.timeoutMs,
      ...(ldaps ? { tlsOptions: tls } : {}),
    });
    try {
      if (startTls) await client.startTLS(tls);
      await client.bind(config.bindDn, password);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw translate(err, 'bind to', config.url, config.bindDn);
    }
    return new LdapSession(client, config.bindDn, ldaps || startTls);
  }

  private async run<T>(action: string, dn: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw translate(err, action, dn, this.bindDn);
    }
  }

  async search(base: string, options: SearchOptions): Promise<Entry[]> {
    return this.run('search', base, async () => (await this.client.search(base, options)).searchEntries);
  }

  /** The entry at `dn`, or undefined when there is none. */
  async read(dn: string, attributes: string[], explicitBufferAttributes?: string[]): Promise<Entry | undefined> {
    try {
      const [entry] = await this.search(dn, { scope: 'base', attributes, explicitBufferAttributes });
      return entry;
    } catch (err) {
      // A DN that cannot even be parsed names no entry either (e.g. a stale computer DN from a record).
      const code = ldapCodeOf(err);
      if (code === LDAP.noSuchObject || code === LDAP.invalidDnSyntax) return undefined;
      throw err;
    }
  }

  async add(dn: string, attributes: Record<string, string | string[]>, action = 'create'): Promise<void> {
    await this.run(action, dn, () => this.client.add(dn, attributes));
  }

  async modify(dn: string, changes: Change[], action = 'modify'): Promise<void> {
    await this.run(action, dn, () => this.client.modify(dn, changes));
  }

  async delete(dn: string): Promise<void> {
    await this.run('delete', dn, () => this.client.del(dn));
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }
}

function find(entry: Entry, name: string): Entry[string] | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : entry[key];
}

/** Values of a text attribute (servers send one value as a scalar, several as an array). */
export function values(entry: Entry, name: string): string[] {
  const value = find(entry, name);
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

export function value(entry: Entry, name: string): string | undefined {
  return values(entry, name)[0];
}

export function binaryValue(entry: Entry, name: string): Buffer | undefined {
  const v = find(entry, name);
  const first = Array.isArray(v) ? v[0] : v;
  return Buffer.isBuffer(first) ? first : undefined;
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Nvram } from '../device/nvram';
import { versionAtLeast } from '../device/version';
import { AUTH_STATUS, AUTH_TYPE, authReply, readStrings, writeStrings } from './messages';

/**
 * Redirection session authentication, firmware side (console reference §1.4): a query listing the
 * methods, plain user/password, and HTTP-style digest with (type 4) or without (type 3) qop in two
 * steps — an empty first answer gets realm, nonce (and qop `auth`) with status 1, the second is
 * checked like RFC 2617 with method POST and the client's URI. Kerberos (type 2) is answered
 * "not supported": the emulator has no Kerberos on any port, and a ticket for the device's
 * `HTTP/<host>:16994` SPN would need a KDC that knows the emulated device.
 */

export type AuthOutcome = 'pending' | 'authenticated' | 'failed';

/** RedirectionRealm (2) — or PT Administration (3), which covers every realm in this emulator. */
const REDIRECTION_REALMS = [2, 3];

/**
 * Methods the firmware offers, by release [inferred]: plain only before 6.0 (amtterm, 2007–2015,
 * spoke nothing else to those releases), plain and both digests to 11.x (plain is the MEBx
 * "username and password" option, deprecated from 7.0 per SDK-RED), only RFC 2617 digest from 12
 * (the AMT 12 trace in MeshCommander#24 lists `04` alone).
 */
export function offeredAuthTypes(amtVersion: string): number[] {
  if (!versionAtLeast(amtVersion, 6)) return [AUTH_TYPE.PLAIN];
  if (!versionAtLeast(amtVersion, 12)) return [AUTH_TYPE.PLAIN, AUTH_TYPE.DIGEST_NO_QOP, AUTH_TYPE.DIGEST];
  return [AUTH_TYPE.DIGEST];
}

/** Accounts that may open redirection sessions: the admin and enabled network ACL users with the redirection realm. */
function accountHa1(nvram: Nvram, username: string): string | null {
  if (nvram.provisioning.state !== 2) return null;
  if (username === nvram.admin.username && nvram.admin.ha1) return nvram.admin.ha1;
  const user = nvram.users.find(
    (u) =>
      u.enabled &&
      u.username === username &&
      u.ha1 &&
      u.accessPermission !== 0 &&
      u.realms.some((r) => REDIRECTION_REALMS.includes(r)),
  );
  return user?.ha1 ?? null;
}

const md5 = (text: string) => createHash('md5').update(text, 'latin1').digest('hex');

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'latin1');
  const y = Buffer.from(b.toLowerCase(), 'latin1');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class RedirectionAuthenticator {
  private nonce: string | null = null;

  constructor(private readonly nvram: () => Nvram) {}

  /** Answers one AuthenticateSession message (type at byte 4, data from byte 9). */
  handle(message: Buffer): { reply: Buffer; outcome: AuthOutcome } {
    const type = message[4]!;
    const data = message.subarray(9);
    const nvram = this.nvram();
    const offered = offeredAuthTypes(nvram.amtVersion);
    if (type === AUTH_TYPE.QUERY) {
      return { reply: authReply(AUTH_STATUS.SUCCESS, AUTH_TYPE.QUERY, Buffer.from(offered)), outcome: 'pending' };
    }
    if (!offered.includes(type)) return { reply: authReply(AUTH_STATUS.NOT_SUPPORTED, type), outcome: 'pending' };
    const ok = type === AUTH_TYPE.PLAIN ? this.plain(data, nvram) : this.digest(type, data, nvram);
    if (ok === 'challenge') {
      this.nonce = randomBytes(16).toString('hex');
      const fields = [nvram.realm, this.nonce, ...(type === AUTH_TYPE.DIGEST ? ['auth'] : [])];
      return { reply: authReply(AUTH_STATUS.FAIL, type, writeStrings(fields)), outcome: 'pending' };
    }
    return ok
      ? { reply: authReply(AUTH_STATUS.SUCCESS, type), outcome: 'authenticated' }
      : { reply: authReply(AUTH_STATUS.FAIL, type), outcome: 'failed' };
  }

  private plain(data: Buffer, nvram: Nvram): boolean {
    const fields = readStrings(data, 2);
    if (!fields) return false;
    const [username, password] = fields as [string, string];
    const ha1 = accountHa1(nvram, username);
    return ha1 !== null && sameHex(md5(`${username}:${nvram.realm}:${password}`), ha1);
  }

  private digest(type: number, data: Buffer, nvram: Nvram): boolean | 'challenge' {
    const first = readStrings(data, 3);
    if (first && first[1] === '' && first[2] === '') return 'challenge';
    const fields = readStrings(data, type === AUTH_TYPE.DIGEST ? 8 : 7);
    const nonce = this.nonce;
    this.nonce = null;
    if (!fields || nonce === null) return false;
    const [username, realm, sentNonce, uri, cnonce, nc, response, qop] = fields as string[];
    const ha1 = accountHa1(nvram, username!);
    if (ha1 === null || realm !== nvram.realm || sentNonce !== nonce) return false;
    if (type === AUTH_TYPE.DIGEST && qop !== 'auth') return false;
    const ha2 = md5(`POST:${uri}`);
    const expected =
      type === AUTH_TYPE.DIGEST ? md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
    return sameHex(expected, response!);
  }
}

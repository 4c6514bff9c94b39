import type { AclUser } from '../device/nvram';
import { versionAtLeast } from '../device/version';

/**
 * The firmware's rules for account names and passwords, from the Intel AMT SDK page "Valid user
 * names and passwords" (quoted in Intel's "Strong AMT ME passwords" article and OEM MEBx manuals).
 * Written for the emulator alone: amtflow's own validators must agree with these without sharing
 * a line of code, so a disagreement shows up as a refused request in a test.
 */

const NOT_IN_NAMES = new Set([...':,<>&"']);
const NOT_IN_PASSWORDS = new Set([...':,"']);

/**
 * Passwords: 8–32 characters, each 7-bit ASCII 32–126 except `:` `,` `"`; among them a digit, a
 * lower-case and an upper-case Latin letter, and a non-alphanumeric character above 32. `_` is
 * alphanumeric for this purpose, and space (32) is below the symbol range: neither makes a
 * password complex.
 */
export function isStrongPassword(password: string): boolean {
  if (password.length < 8 || password.length > 32) return false;
  let digit = false;
  let lower = false;
  let upper = false;
  let symbol = false;
  for (const ch of password) {
    const code = ch.codePointAt(0)!;
    if (code < 32 || code > 126 || NOT_IN_PASSWORDS.has(ch)) return false;
    if (ch >= '0' && ch <= '9') digit = true;
    else if (ch >= 'a' && ch <= 'z') lower = true;
    else if (ch >= 'A' && ch <= 'Z') upper = true;
    else if (code > 32 && ch !== '_') symbol = true;
  }
  return digit && lower && upper && symbol;
}

/**
 * Digest user names: 1–16 characters of 7-bit ASCII 33–126 except `:` `,` `<` `>` `&` `"`. Names
 * beginning `$$` are the firmware's own (`$$OsAdmin`, `$$uns`). For a new ACL entry the built-in
 * admin's names are refused too: "Administrator" on Release 3.2, "Admin" from Release 4.0 on — the
 * SDK does not say whether case matters; this firmware refuses every spelling.
 */
export function isValidUserName(name: string): boolean {
  if (name.length < 1 || name.length > 16 || name.startsWith('$$')) return false;
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    if (code < 33 || code > 126 || NOT_IN_NAMES.has(ch)) return false;
  }
  return true;
}

export function isReservedForAdmin(name: string, amtVersion: string): boolean {
  return name.toLowerCase() === (versionAtLeast(amtVersion, 4) ? 'admin' : 'administrator');
}

/**
 * Room in the user ACL: seven Digest users besides the built-in admin and 32 Kerberos (Active
 * Directory) users or groups — the numbers Intel's own configuration software enforces ("no more than
 * seven digest users and 32 Active Directory users/groups", Intel SCS 11 profile wizard, "Defining
 * the Access Control List"); the SDK names only PT_STATUS_MAX_LIMIT_REACHED. `replacing` is the
 * handle of an entry an update overwrites, which frees its own place.
 */
export const MAX_DIGEST_USERS = 7;
export const MAX_KERBEROS_USERS = 32;

export function aclHasRoomFor(users: readonly AclUser[], kerberos: boolean, replacing?: number): boolean {
  const same = users.filter((u) => u.handle !== replacing && (u.kerberosSid !== null) === kerberos).length;
  return same < (kerberos ? MAX_KERBEROS_USERS : MAX_DIGEST_USERS);
}

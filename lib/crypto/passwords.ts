import { randomInt } from 'node:crypto';

/**
 * AMT's strong-password rule, as the AMT SDK states it ("Valid user names and passwords"; the same
 * text is in OEM MEBx manuals): 8–32 characters of 7-bit ASCII 32–126 except `:` `,` `"`, with at
 * least one digit, one lower-case and one upper-case Latin letter, and one non-alphanumeric
 * character above 32 — where `_` counts as alphanumeric, and space, although allowed, counts as
 * nothing. Firmware refuses anything else at SetMEBxPassword (and in the MEBx itself), so
 * `Location_1` (only `_` as the symbol) or `Şifre123x` (not 7-bit) fail there as a final error.
 */
export const AMT_PASSWORD_MIN = 8;
export const AMT_PASSWORD_MAX = 32;

/** Characters AMT forbids in passwords and user names: they break Digest's `user:realm:password`. */
const FORBIDDEN = /[:,"]/;
/** A character that makes a password "complex": 7-bit, above space, neither alphanumeric nor `_`. */
const COMPLEXITY_SYMBOL = /[\x21-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e]/;

/**
 * What is wrong with `password` under the strong-password rule, one phrase per broken clause; empty
 * when the firmware accepts it. The phrases describe the rule, never the value.
 */
export function amtPasswordProblems(password: string): string[] {
  const problems: string[] = [];
  if (password.length < AMT_PASSWORD_MIN || password.length > AMT_PASSWORD_MAX) {
    problems.push(`must be ${AMT_PASSWORD_MIN}–${AMT_PASSWORD_MAX} characters`);
  }
  if (!/^[\x20-\x7e]*$/.test(password)) problems.push('must use only 7-bit ASCII characters 32–126');
  if (FORBIDDEN.test(password)) problems.push('must not contain : , or "');
  if (!/[0-9]/.test(password)) problems.push('needs a digit');
  if (!/[a-z]/.test(password)) problems.push('needs a lower-case letter');
  if (!/[A-Z]/.test(password)) problems.push('needs an upper-case letter');
  if (!COMPLEXITY_SYMBOL.test(password)) {
    problems.push('needs a symbol other than _ and space (e.g. ! $ ~)');
  }
  return problems;
}

export function isStrongAmtPassword(password: string): boolean {
  return amtPasswordProblems(password).length === 0;
}

// No look-alikes (0/O, 1/l/I) for passwords an operator may have to type from a screen, and only
// symbols that count for complexity and need no quoting in SOAP, shells or configuration files.
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
const SYMBOLS = '!#$%()*+-./;=?@[]^{|}~';
const ALL = UPPER + LOWER + DIGITS + SYMBOLS;

/**
 * A random password that AMT accepts for the admin account, the MEBx or a Digest user: one of each
 * required class, the rest from all of them, shuffled. Every symbol it uses counts for complexity,
 * so no draw can yield a password the firmware refuses.
 */
export function generateAmtPassword(length = 16): string {
  if (length < AMT_PASSWORD_MIN || length > AMT_PASSWORD_MAX) {
    throw new RangeError(`AMT passwords are ${AMT_PASSWORD_MIN} to ${AMT_PASSWORD_MAX} characters long`);
  }
  const pick = (set: string) => set[randomInt(set.length)] as string;
  const chars = [pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < length) chars.push(pick(ALL));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

import { randomInt } from 'node:crypto';

// AMT's strong-password rule: 8–32 characters with upper case, lower case, a digit and a
// non-alphanumeric character; `:`, `,` and `"` are not allowed (they break Digest and SOAP).
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
const SYMBOLS = '!#$%&()*+-./;<=>?@[]^_{|}~';
const ALL = UPPER + LOWER + DIGITS + SYMBOLS;

export function isStrongAmtPassword(password: string): boolean {
  return (
    password.length >= 8 &&
    password.length <= 32 &&
    /[A-Z]/.test(password) &&
    /[a-z]/.test(password) &&
    /[0-9]/.test(password) &&
    /[^A-Za-z0-9]/.test(password) &&
    !/[:,"]/.test(password)
  );
}

/** A random password that AMT accepts for the admin account, the MEBx or a digest user. */
export function generateAmtPassword(length = 16): string {
  if (length < 8 || length > 32) throw new RangeError('AMT passwords are 8 to 32 characters long');
  const pick = (set: string) => set[randomInt(set.length)] as string;
  const chars = [pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < length) chars.push(pick(ALL));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

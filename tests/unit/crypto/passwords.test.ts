import { amtPasswordProblems, generateAmtPassword, isStrongAmtPassword } from '../../../lib/crypto/passwords';
import { isStrongPassword as firmwareAccepts } from '../../../emulator/classes/account-rules';

/**
 * The strong-password rule as the AMT SDK words it ("Valid user names and passwords"), written out
 * here a third time — beside amtflow's validator and the emulator's firmware check — so that a test
 * can tell which of them drifted.
 */
function sdkAccepts(password: string): boolean {
  const chars = [...password];
  const sevenBit = chars.every((c) => c.charCodeAt(0) >= 32 && c.charCodeAt(0) <= 126);
  const symbol = chars.some((c) => c > ' ' && c <= '~' && !/[A-Za-z0-9_]/.test(c));
  return (
    chars.length >= 8 &&
    chars.length <= 32 &&
    sevenBit &&
    !chars.some((c) => ':,"'.includes(c)) &&
    chars.some((c) => c >= '0' && c <= '9') &&
    chars.some((c) => c >= 'a' && c <= 'z') &&
    chars.some((c) => c >= 'A' && c <= 'Z') &&
    symbol
  );
}

describe('AMT passwords', () => {
  it('are never generated in a form the firmware refuses (50 000 draws, every length)', () => {
    // With `_` among the symbols, about one draw in 2 700 had `_` as its only symbol.
    const refused: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const password = generateAmtPassword(8 + (i % 25));
      if (!sdkAccepts(password) || !firmwareAccepts(password)) refused.push(password);
    }
    expect(refused).toEqual([]);
  });

  it('differ each time', () => {
    const passwords = Array.from({ length: 200 }, () => generateAmtPassword());
    expect(new Set(passwords).size).toBe(passwords.length);
  });

  it.each([
    ['Location_1', 'needs a symbol other than _ and space (e.g. ! $ ~)'],
    ['Abcdefg1 x', 'needs a symbol other than _ and space (e.g. ! $ ~)'],
    ['Şifre123x!', 'must use only 7-bit ASCII characters 32–126'],
    ['Abcdef1:', 'must not contain : , or "'],
    ['Abcdef1,', 'must not contain : , or "'],
    ['Abcdef1"', 'must not contain : , or "'],
    ['abcdef1!', 'needs an upper-case letter'],
    ['ABCDEF1!', 'needs a lower-case letter'],
    ['Abcdefg!', 'needs a digit'],
    ['Ab1!', 'must be 8–32 characters'],
    ['Ab1!'.repeat(9), 'must be 8–32 characters'],
  ])('refuses %j as the firmware does, saying why without repeating it', (password, problem) => {
    expect(sdkAccepts(password)).toBe(false);
    expect(firmwareAccepts(password)).toBe(false);
    expect(isStrongAmtPassword(password)).toBe(false);
    const problems = amtPasswordProblems(password);
    expect(problems).toContain(problem);
    expect(problems.join(' ')).not.toContain(password);
  });

  it.each(['Abcdefg1!', 'P@ssw0rd', 'Location_1!', 'with space 1A~', 'Ab1!'.repeat(8)])(
    'accepts %j like the firmware',
    (password) => {
      expect(sdkAccepts(password)).toBe(true);
      expect(firmwareAccepts(password)).toBe(true);
      expect(amtPasswordProblems(password)).toEqual([]);
    },
  );
});

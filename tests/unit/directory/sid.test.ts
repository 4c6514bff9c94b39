import { sidToString } from '../../../lib/directory/sid';

describe('binary SID to string', () => {
  it('reads a domain account SID (sub-authorities little-endian)', () => {
    const administrator = Buffer.from('010500000000000515000000a7d60bf03a6fda68d5ba97a9f4010000', 'hex');
    expect(sidToString(administrator)).toBe('S-1-5-21-4027307687-1759145786-2845293269-500');
  });

  it('reads well-known SIDs', () => {
    expect(sidToString(Buffer.from('010100000000000100000000', 'hex'))).toBe('S-1-1-0');
    expect(sidToString(Buffer.from('01020000000000052000000020020000', 'hex'))).toBe('S-1-5-32-544');
  });

  it('prints an identifier authority of 2^32 or more in hex (MS-DTYP)', () => {
    expect(sidToString(Buffer.from('010101000000000007000000', 'hex'))).toBe('S-1-0x010000000000-7');
  });

  it('refuses bytes that are not a SID', () => {
    expect(() => sidToString(Buffer.from('0105000000000005', 'hex'))).toThrow(RangeError);
    expect(() => sidToString(Buffer.from('020100000000000100000000', 'hex'))).toThrow(RangeError);
    expect(() => sidToString(Buffer.alloc(0))).toThrow(RangeError);
  });
});

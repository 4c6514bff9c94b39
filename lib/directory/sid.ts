/**
 * Security identifiers. The directory returns `objectSid` in its binary form (MS-DTYP 2.4.2.2);
 * AMT's Kerberos ACL entries take the binary SID base64-encoded (`KerberosUserSid`), operators and
 * logs read the string form `S-1-5-21-...`.
 */
export function sidToString(sid: Buffer): string {
  const revision = sid[0];
  const count = sid[1];
  if (revision !== 1 || count === undefined || sid.length !== 8 + 4 * count) {
    throw new RangeError(`not a binary SID (${sid.length} bytes: ${sid.toString('hex')})`);
  }
  // The 48-bit identifier authority is big-endian; MS-DTYP prints values of 2^32 and above in hex.
  const authority = sid.readUIntBE(2, 6);
  const parts = [
    'S',
    '1',
    authority >= 2 ** 32 ? `0x${sid.subarray(2, 8).toString('hex').toUpperCase()}` : String(authority),
  ];
  // Sub-authorities (the domain identifier, then the RID) are little-endian.
  for (let i = 0; i < count; i++) parts.push(String(sid.readUInt32LE(8 + 4 * i)));
  return parts.join('-');
}

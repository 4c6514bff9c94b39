/**
 * Distinguished names. Every value amtflow puts into a DN goes through `escapeDnValue` (RFC 4514
 * section 2.4), so a value such as `a,ou=evil` stays one attribute value and cannot add an RDN.
 * Filter values are escaped with ldapts' `escapeFilter` (RFC 4515), see the call sites.
 *
 * ldapts' own DN builder is not used: it quotes values with leading or trailing spaces (RFC 2253
 * style), which RFC 4514 and Active Directory do not accept.
 */

/** Characters RFC 4514 requires escaping anywhere in a value, plus `=`, which it permits escaping. */
const ALWAYS_ESCAPED = new Set(['"', '+', ',', ';', '<', '>', '\\', '=']);

export function escapeDnValue(value: string): string {
  let out = '';
  const last = value.length - 1;
  for (let i = 0; i <= last; i++) {
    const ch = value[i] as string;
    const code = ch.charCodeAt(0);
    if (ALWAYS_ESCAPED.has(ch)) out += `\\${ch}`;
    // NUL must be hex-escaped; other control characters are, so that a DN never spans lines in logs.
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if ((i === 0 && (ch === ' ' || ch === '#')) || (i === last && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** `type=value,parent` with the value escaped. `type` and `parent` are amtflow's own, never input. */
export function childDn(type: string, value: string, parent: string): string {
  return `${type}=${escapeDnValue(value)},${parent}`;
}

/** The RDNs of a DN, split at unescaped commas (an escaped `\,` belongs to its value). */
export function splitDn(dn: string): string[] {
  const rdns: string[] = [];
  let current = '';
  const finish = () => {
    // Spaces around a separator are not part of the RDN; an escaped trailing space is.
    const trimmed = current.trimStart();
    const end = trimmed.search(/(?<!\\) +$/);
    rdns.push(end < 0 ? trimmed : trimmed.slice(0, end));
    current = '';
  };
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i] as string;
    if (ch === '\\' && i + 1 < dn.length) {
      current += ch + (dn[i + 1] as string);
      i++;
    } else if (ch === ',') finish();
    else current += ch;
  }
  if (current.trim() !== '') finish();
  return rdns;
}

/** The value an escaped RDN value stands for: `\c` and `\XX` (hex bytes of UTF-8) decoded. */
export function unescapeDnValue(escaped: string): string {
  const bytes: number[] = [];
  const chars = [...escaped];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const hex = `${chars[i + 1] ?? ''}${chars[i + 2] ?? ''}`;
    if (ch === '\\' && /^[0-9a-f]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (ch === '\\' && i + 1 < chars.length) {
      bytes.push(...Buffer.from(chars[++i] as string, 'utf8'));
    } else bytes.push(...Buffer.from(ch, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * One spelling per RDN, for comparisons: servers are free to spell the same value differently
 * (Samba returns `\=` as `\3D`), and attribute types and values compare case-insensitively in
 * the DNs amtflow handles.
 */
function canonicalRdns(dn: string): string[] {
  return splitDn(dn).map((rdn) => {
    const eq = rdn.indexOf('=');
    return `${rdn.slice(0, eq).trim()}=${escapeDnValue(unescapeDnValue(rdn.slice(eq + 1)))}`.toLowerCase();
  });
}

export function sameDn(a: string, b: string): boolean {
  const x = canonicalRdns(a);
  const y = canonicalRdns(b);
  return x.length === y.length && x.every((rdn, i) => rdn === y[i]);
}

/** True when `dn` is `base` or lies below it. Compared by RDN, so an escaped `\,` never counts as a boundary. */
export function isWithinDn(dn: string, base: string): boolean {
  const d = canonicalRdns(dn);
  const b = canonicalRdns(base);
  const offset = d.length - b.length;
  return offset >= 0 && b.every((rdn, i) => rdn === d[offset + i]);
}

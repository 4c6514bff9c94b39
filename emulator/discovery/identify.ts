import type { Nvram } from '../device/nvram';
import { parseAmtVersion } from '../device/version';
import { child, parseXml, XmlInputError } from '../wsman/xml';

/**
 * WS-Management Identify (DSP0226 §11): a SOAP envelope whose body is `wsmid:Identify`, with no
 * WS-Addressing Action. DSP0226 lets a service answer it without authentication, which is what
 * discovery relies on; the emulator does so on every release [inferred: the public captures
 * (MAAS `test_amt.py`, wsman-amt) were taken with credentials]. The answer follows the MAAS
 * fixture: ProtocolVersion, ProductVendor `Intel(r)`, ProductVersion `AMT <major>.<minor>`,
 * DASHVersion 1.0.0 and the security profiles of the port.
 */

const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  identity: 'http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd',
  dash: 'http://schemas.dmtf.org/wbem/dash/1/dash.xsd',
};
const PROFILE = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile';

/** True for an Identify request (anything unparseable is left to the authenticated path). */
export function isIdentifyRequest(body: Buffer): boolean {
  // Every authenticated request passes here first: parse only what can be an Identify.
  if (!body.includes('Identify')) return false;
  try {
    const root = parseXml(body.toString('utf8'));
    const header = child(root, 'Header');
    return (
      root.name === 'Envelope' && child(root, 'Body')?.children[0]?.name === 'Identify' && !child(header, 'Action')
    );
  } catch (err) {
    if (err instanceof XmlInputError) return false;
    throw err;
  }
}

export function identifyResponse(nvram: Nvram, overTls: boolean): string {
  const v = parseAmtVersion(nvram.amtVersion);
  const profile = overTls ? `${PROFILE}/https/digest` : `${PROFILE}/http/digest`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="${NS.soap}" xmlns:b="${NS.identity}" xmlns:c="${NS.dash}">` +
    `<a:Header></a:Header><a:Body><b:IdentifyResponse>` +
    `<b:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</b:ProtocolVersion>` +
    `<b:ProductVendor>Intel(r)</b:ProductVendor><b:ProductVersion>AMT ${v?.major ?? 0}.${v?.minor ?? 0}</b:ProductVersion>` +
    `<c:DASHVersion>1.0.0</c:DASHVersion><b:SecurityProfiles><b:SecurityProfileName>${profile}</b:SecurityProfileName>` +
    `</b:SecurityProfiles></b:IdentifyResponse></a:Body></a:Envelope>`
  );
}

import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { derBase64, nullSignedCertificateRequest } from '../../../lib/amt/wsman/certificates';
import { instanceXml, valueXml, embedded, ref, type WsmanInstance } from '../../../lib/amt/wsman/envelope';
import { REMOVE, mergeForPut } from '../../../lib/amt/wsman/properties';

const instance: WsmanInstance = {
  className: 'AMT_EthernetPortSettings',
  properties: {
    DHCPEnabled: 'false',
    DefaultGateway: '10.0.0.1',
    IPAddress: '10.0.0.5',
    LinkPolicy: ['1', '14'],
    PrimaryDNS: { '@_nil': 'true' },
  },
};

describe('mergeForPut', () => {
  it('keeps what is not changed, sets null as nil, drops REMOVE, and leaves undefined alone', () => {
    expect(
      mergeForPut(instance, {
        DHCPEnabled: true,
        IPAddress: REMOVE,
        DefaultGateway: null,
        PrimaryDNS: undefined,
        IpSyncEnabled: true,
      }),
    ).toEqual({
      DHCPEnabled: true,
      DefaultGateway: null,
      IpSyncEnabled: true,
      LinkPolicy: ['1', '14'],
      PrimaryDNS: null,
    });
  });

  it('refuses to write back a structured value it cannot reproduce', () => {
    const withDatetime: WsmanInstance = {
      className: 'CIM_SoftwareIdentity',
      properties: { InstallDate: { Datetime: 'x' } },
    };
    expect(() => mergeForPut(withDatetime, {})).toThrow(TypeError);
  });
});

describe('value serialisation', () => {
  it('writes nil, repeated elements, references and embedded instances', () => {
    expect(valueXml('h', 'A', null)).toBe('<h:A xsi:nil="true"></h:A>');
    expect(valueXml('h', 'A', ['x&y', 2])).toBe('<h:A>x&amp;y</h:A><h:A>2</h:A>');
    expect(valueXml('h', 'A', undefined)).toBe('');
    expect(valueXml('h', 'R', ref('CIM_WiFiEndpoint', { Name: 'WiFi Endpoint 0' }, 'default'))).toBe(
      '<h:R><a:Address>default</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_WiFiEndpoint</w:ResourceURI>' +
        '<w:SelectorSet><w:Selector Name="Name">WiFi Endpoint 0</w:Selector></w:SelectorSet></a:ReferenceParameters></h:R>',
    );
    expect(valueXml('h', 'E', embedded('CIM_IEEE8021xSettings', { ElementName: '<x>', Password: undefined }))).toBe(
      '<h:E xmlns:q="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_IEEE8021xSettings"><q:ElementName>&lt;x&gt;</q:ElementName></h:E>',
    );
    expect(() => valueXml('h', 'N', Number.NaN)).toThrow(TypeError);
    expect(instanceXml('IPS_OptInService', { OptInRequired: 4294967295 })).toBe(
      '<h:IPS_OptInService xmlns:h="http://intel.com/wbem/wscim/1/ips-schema/1/IPS_OptInService"><h:OptInRequired>4294967295</h:OptInRequired></h:IPS_OptInService>',
    );
  });
});

describe('certificate helpers', () => {
  it('turns DER or PEM into base64 DER', () => {
    expect(derBase64(Buffer.from([1, 2, 3]))).toBe('AQID');
    expect(derBase64('-----BEGIN CERTIFICATE-----\nAQID\nBAU=\n-----END CERTIFICATE-----\n')).toBe('AQIDBAU=');
    expect(() => derBase64('not pem')).toThrow(TypeError);
  });

  it('builds a PKCS#10 request for the device key with a zero signature', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const der = publicKey.export({ type: 'pkcs1', format: 'der' });
    const csr = forge.pki.certificationRequestFromAsn1(
      forge.asn1.fromDer(nullSignedCertificateRequest(der, 'amt1.corp.test').toString('binary')),
    );
    expect(csr.subject.getField('CN').value).toBe('amt1.corp.test');
    const roundTrip = forge.asn1
      .toDer(forge.pki.publicKeyToRSAPublicKey(csr.publicKey as forge.pki.rsa.PublicKey))
      .getBytes();
    expect(Buffer.from(roundTrip, 'binary').equals(der)).toBe(true);
    expect(csr.signature).toBe('\0'.repeat(256));
  });
});

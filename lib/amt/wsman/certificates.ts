import forge from 'node-forge';
import { AmtError, AmtProtocolError } from '../errors';
import type { AmtTimeouts } from '../transport';
import type { WsmanClient } from './client';
import { parseEpr, ref, type EndpointReference, type WsmanInstance } from './envelope';
import { optionalBoolean, optionalString, requiredString } from './properties';

/**
 * Keys, certificates and TLS of AMT_PublicKeyManagementService, AMT_TLSCredentialContext and
 * AMT_TLSSettingData (protocol reference §4.9–§4.11). Stage one (OOB8.3) is: put the key in
 * (AddKey, or GenerateKeyPair + GeneratePKCS10RequestEx so the CA signs the device's own key),
 * AddCertificate, setTlsCertificate, configureTls, and CommitChanges to apply.
 */

/** DER (Buffer) or PEM (first block) to the base64 DER AMT expects. */
export function derBase64(input: Buffer | string): string {
  if (Buffer.isBuffer(input)) return input.toString('base64');
  const match = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(input);
  if (!match?.[1]) throw new TypeError('expected DER bytes or a PEM block');
  return match[1].replace(/\s+/g, '');
}

/**
 * A PKCS#10 request for the device's key with a zero-filled signature, as
 * GeneratePKCS10RequestEx wants it (`NullSignedCertificateRequest`): AMT re-signs it with the
 * private key only it holds. `publicKeyDer` is the pair's DERKey (PKCS#1 RSAPublicKey).
 */
export function nullSignedCertificateRequest(publicKeyDer: Buffer, commonName: string): Buffer {
  const publicKey = forge.pki.publicKeyFromAsn1(
    forge.asn1.fromDer(forge.util.createBuffer(publicKeyDer.toString('binary'))),
  ) as forge.pki.rsa.PublicKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = publicKey;
  csr.setSubject([{ name: 'commonName', value: commonName }]);
  csr.signatureOid = forge.pki.oids['sha256WithRSAEncryption'] ?? null;
  csr.signature = '\0'.repeat(Math.ceil(publicKey.n.bitLength() / 8));
  return Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary');
}

export interface AmtCertificate {
  instanceId: string;
  /** Base64 DER. */
  x509Certificate: string;
  trustedRoot: boolean | undefined;
  subject: string | undefined;
  issuer: string | undefined;
  readOnly: boolean | undefined;
}

export interface AmtKeyPair {
  instanceId: string;
  /** Base64 DER of the public key (PKCS#1); the private key never leaves the firmware. */
  derKey: string;
}

export interface TlsCredentialContext {
  certificateInstanceId: string | undefined;
  /** The context's keys as the device reports them, for Delete. */
  elementInContext: EndpointReference;
  elementProvidingContext: EndpointReference;
}

export interface TlsInterfaceSettings {
  enabled: boolean;
  /** Remote interface only. */
  mutualAuthentication?: boolean;
  /** Keep port 16992 open next to 16993 (remote interface only). */
  acceptNonSecureConnections?: boolean;
  /** CNs accepted from client certificates with mutual authentication. */
  trustedCn?: readonly string[];
}

export const TLS_SETTINGS_REMOTE = 'Intel(r) AMT 802.3 TLS Settings';
export const TLS_SETTINGS_LOCAL = 'Intel(r) AMT LMS TLS Settings';
/** The collection name clients send; AMT reports `TLSProtocolEndpoint Instances Collection` (§4.10). */
const TLS_ENDPOINT_COLLECTION = 'TLSProtocolEndpointInstances Collection';

function createdInstanceId(output: WsmanInstance, parameter: string): string {
  const epr = parseEpr(output.properties[parameter]);
  const id = epr?.selectors['InstanceID'];
  if (typeof id !== 'string') throw new AmtProtocolError(`${output.className} has no ${parameter} reference`);
  return id;
}

export class CertificateOperations {
  constructor(private readonly client: WsmanClient) {}

  /** Adds a CA certificate to the trust store (802.1X server issuer, I6); returns its InstanceID. */
  async addTrustedRootCertificate(certificate: Buffer | string): Promise<string> {
    const output = await this.client.invoke('AMT_PublicKeyManagementService', 'AddTrustedRootCertificate', {
      CertificateBlob: derBase64(certificate),
    });
    return createdInstanceId(output, 'CreatedCertificate');
  }

  /** Adds a certificate whose key pair is already in the firmware; returns its InstanceID. */
  async addCertificate(certificate: Buffer | string): Promise<string> {
    const output = await this.client.invoke('AMT_PublicKeyManagementService', 'AddCertificate', {
      CertificateBlob: derBase64(certificate),
    });
    return createdInstanceId(output, 'CreatedCertificate');
  }

  /** Adds an RSA private key (PKCS#1 DER or PEM); returns the key pair's InstanceID. */
  async addKey(privateKey: Buffer | string): Promise<string> {
    const output = await this.client.invoke('AMT_PublicKeyManagementService', 'AddKey', {
      KeyBlob: derBase64(privateKey),
    });
    return createdInstanceId(output, 'CreatedKey');
  }

  /**
   * Lets the firmware generate an RSA key pair; returns its InstanceID. Key generation takes seconds
   * on real hardware, hence the optional longer timeouts; PT_STATUS_RNG_GENERATION_IN_PROGRESS early
   * after boot is transient.
   */
  async generateKeyPair(keyLength = 2048, timeouts?: AmtTimeouts): Promise<string> {
    const output = await this.client.invoke(
      'AMT_PublicKeyManagementService',
      'GenerateKeyPair',
      { KeyAlgorithm: 0, KeyLength: keyLength },
      timeouts ? { timeouts } : {},
    );
    return createdInstanceId(output, 'KeyPair');
  }

  /**
   * Has the firmware sign a PKCS#10 request for one of its key pairs (I2 "from the device's
   * PKCS#10"); returns the DER request. Signing algorithm 1 = SHA256-RSA (SHA-1 is gone in CSME 18).
   */
  async generatePkcs10Request(
    keyPairInstanceId: string,
    nullSignedRequest: Buffer,
    signingAlgorithm = 1,
  ): Promise<Buffer> {
    const output = await this.client.invoke('AMT_PublicKeyManagementService', 'GeneratePKCS10RequestEx', {
      KeyPair: ref('AMT_PublicPrivateKeyPair', { InstanceID: keyPairInstanceId }),
      SigningAlgorithm: signingAlgorithm,
      NullSignedCertificateRequest: nullSignedRequest.toString('base64'),
    });
    return Buffer.from(requiredString(output, 'SignedCertificateRequest'), 'base64');
  }

  async listCertificates(): Promise<AmtCertificate[]> {
    return (await this.client.enumerate('AMT_PublicKeyCertificate')).map((instance) => ({
      instanceId: requiredString(instance, 'InstanceID'),
      x509Certificate: requiredString(instance, 'X509Certificate'),
      // sic: AMT spells the property TrustedRootCertficate
      trustedRoot: optionalBoolean(instance, 'TrustedRootCertficate'),
      subject: optionalString(instance, 'Subject'),
      issuer: optionalString(instance, 'Issuer'),
      readOnly: optionalBoolean(instance, 'ReadOnlyCertificate'),
    }));
  }

  async listKeyPairs(): Promise<AmtKeyPair[]> {
    return (await this.client.enumerate('AMT_PublicPrivateKeyPair')).map((instance) => ({
      instanceId: requiredString(instance, 'InstanceID'),
      derKey: requiredString(instance, 'DERKey'),
    }));
  }

  /** Fails while a TLS or 802.1X credential context still references the certificate. */
  async deleteCertificate(instanceId: string): Promise<void> {
    await this.client.delete('AMT_PublicKeyCertificate', { InstanceID: instanceId });
  }

  async deleteKeyPair(instanceId: string): Promise<void> {
    await this.client.delete('AMT_PublicPrivateKeyPair', { InstanceID: instanceId });
  }

  async listTlsCredentialContexts(): Promise<TlsCredentialContext[]> {
    const contexts: TlsCredentialContext[] = [];
    for (const instance of await this.client.enumerate('AMT_TLSCredentialContext')) {
      const elementInContext = parseEpr(instance.properties['ElementInContext']);
      const elementProvidingContext = parseEpr(instance.properties['ElementProvidingContext']);
      if (!elementInContext || !elementProvidingContext) {
        throw new AmtProtocolError('AMT_TLSCredentialContext without its references');
      }
      const id = elementInContext.selectors['InstanceID'];
      contexts.push({
        certificateInstanceId: typeof id === 'string' ? id : undefined,
        elementInContext,
        elementProvidingContext,
      });
    }
    return contexts;
  }

  async deleteTlsCredentialContext(context: TlsCredentialContext): Promise<void> {
    await this.client.delete('AMT_TLSCredentialContext', {
      ElementInContext: context.elementInContext,
      ElementProvidingContext: context.elementProvidingContext,
    });
  }

  /**
   * Makes the certificate the one AMT's TLS server presents. AMT keeps a single context and faults
   * AlreadyExists when one is there (§4.10): that is success only if it already names this
   * certificate; otherwise the old context is deleted and the new one created. Idempotent.
   */
  async setTlsCertificate(certificateInstanceId: string): Promise<void> {
    const create = (): Promise<EndpointReference> =>
      this.client.create('AMT_TLSCredentialContext', {
        ElementInContext: ref('AMT_PublicKeyCertificate', { InstanceID: certificateInstanceId }),
        ElementProvidingContext: ref('AMT_TLSProtocolEndpointCollection', { ElementName: TLS_ENDPOINT_COLLECTION }),
      });
    try {
      await create();
      return;
    } catch (err) {
      if (!(err instanceof AmtError) || err.code !== 'WSMAN_ALREADY_EXISTS') throw err;
    }
    const existing = await this.listTlsCredentialContexts();
    if (existing.some((c) => c.certificateInstanceId === certificateInstanceId)) return;
    for (const context of existing) await this.deleteTlsCredentialContext(context);
    await create();
  }

  /** The remote (802.3) and local (LMS) TLS setting instances, as read. */
  async getTlsSettings(): Promise<{ remote: WsmanInstance | undefined; local: WsmanInstance | undefined }> {
    const instances = await this.client.enumerate('AMT_TLSSettingData');
    const byId = (id: string): WsmanInstance | undefined =>
      instances.find((i) => optionalString(i, 'InstanceID') === id);
    return { remote: byId(TLS_SETTINGS_REMOTE), local: byId(TLS_SETTINGS_LOCAL) };
  }

  /** Whether TLS is enabled on the remote (802.3) interface, as configured (in effect from the next commit). */
  async remoteTlsEnabled(): Promise<boolean | undefined> {
    const { remote } = await this.getTlsSettings();
    return remote && optionalBoolean(remote, 'Enabled');
  }

  /** OOB8.3: enables TLS; takes effect on CommitChanges. */
  async configureTls(settings: { remote: TlsInterfaceSettings; local?: TlsInterfaceSettings }): Promise<void> {
    const { remote, local } = await this.getTlsSettings();
    if (!remote) throw new AmtProtocolError(`no AMT_TLSSettingData "${TLS_SETTINGS_REMOTE}"`);
    await this.client.put(remote, {
      Enabled: settings.remote.enabled,
      MutualAuthentication: settings.remote.mutualAuthentication,
      AcceptNonSecureConnections: settings.remote.acceptNonSecureConnections,
      TrustedCN: settings.remote.trustedCn,
    });
    if (settings.local && local) await this.client.put(local, { Enabled: settings.local.enabled });
  }
}

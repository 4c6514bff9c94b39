import { createPublicKey, generateKeyPair } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { writeFileAtomic } from '../device/store';
import { EmulatorError } from '../errors';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Pre-generated RSA keys. Real AMT makes its own keys, so key generation is the firmware's cost,
 * not amtflow's: the emulator draws TLS identities and GenerateKeyPair results from this persisted
 * pool instead of generating per device. Keys are reused round-robin when the pool is smaller than
 * the demand; distinct devices may share a key, which nothing in provisioning can observe.
 */
export interface PoolKey {
  privateKeyPem: string;
  /** Base64 PKCS#1 RSAPublicKey DER (the AMT_PublicPrivateKeyPair.DERKey format). */
  publicKeyDer: string;
  /** Self-signed certificate for this key: the TLS identity of an unprovisioned device. */
  certPem: string;
}

export interface KeyPoolOptions {
  dir: string;
  size?: number;
  bits?: number;
}

interface PoolFile {
  bits: number;
  keys: PoolKey[];
}

export class KeyPool {
  private cursor = 0;

  private constructor(
    readonly bits: number,
    private readonly keys: PoolKey[],
  ) {}

  /** Loads the pool from `dir`, generating (once, persisted) whatever is missing to reach `size`. */
  static async open({ dir, size = 16, bits = 2048 }: KeyPoolOptions): Promise<KeyPool> {
    const file = path.join(dir, `rsa-${bits}.json`);
    let keys: PoolKey[] = [];
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as PoolFile;
      if (parsed.bits !== bits || !Array.isArray(parsed.keys)) throw new Error('wrong bits or shape');
      keys = parsed.keys;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new EmulatorError('KEY_POOL_CORRUPT', `key pool ${file} is unreadable; delete it to regenerate`, {
          cause: err,
        });
      }
    }
    if (keys.length < size) {
      const fresh = await Promise.all(Array.from({ length: size - keys.length }, () => generatePoolKey(bits)));
      keys = [...keys, ...fresh];
      await writeFileAtomic(file, JSON.stringify({ bits, keys } satisfies PoolFile));
    }
    return new KeyPool(bits, keys);
  }

  get size(): number {
    return this.keys.length;
  }

  /** The next key, round-robin. */
  draw(): PoolKey {
    const key = this.keys[this.cursor % this.keys.length]!;
    this.cursor += 1;
    return key;
  }
}

async function generatePoolKey(bits: number): Promise<PoolKey> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  const privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return { privateKeyPem, publicKeyDer: publicKeyDerOf(privateKeyPem), certPem: selfSignedCert(privateKeyPem) };
}

export function publicKeyDerOf(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'pkcs1', format: 'der' }).toString('base64');
}

/**
 * The self-signed certificate an unprovisioned AMT presents on 16993 (reference §1.4, §6.4). Its
 * subject is generic because the certificate belongs to a pool key, not to one device.
 */
function selfSignedCert(privateKeyPem: string): string {
  const key = forge.pki.privateKeyFromPem(privateKeyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  cert.validity.notBefore = new Date(Date.UTC(2020, 0, 1));
  cert.validity.notAfter = new Date(Date.UTC(2049, 11, 31));
  const subject = [
    { name: 'commonName', value: 'iAMT Self-signed Certificate' },
    { name: 'organizationName', value: 'Intel(R) Client Setup' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AmtflowConfig, CaConfig } from '../config';
import type { SecretBox } from '../crypto/secret-box';
import { buildChain, certificateForKey, checkChain, readPkcs12 } from './chain';
import { PkiError } from './errors';
import { createFileOnce, readIfExists, writeFileAtomic } from './files';
import { assertCaKeyBits, forgePublicKey, generateRsaKey, keyMatches, privateKeyPem } from './keys';
import { buildCaCertificate, buildLeafCertificate, type Signer } from './templates';
import { oneLine, parseCertificate, randomSerial, thumbprints, type ParsedCertificate } from './x509';
import type { ProvisioningCredential } from './provisioning';

/**
 * The CA on disk (`<ca dir>`): `ca.json` holds the certificates and the sealed private keys and is
 * the only file read back; `root.pem` and `issuing.pem` are copies for operators and for
 * `openssl verify`. Every file is written whole (temporary file, then rename or link).
 */
const STATE_FILE = 'ca.json';
const PROVISIONING_FILE = 'provisioning.json';
/** Further provisioning chains for fleets whose devices trust different roots, one file per root. */
const ADDITIONAL_PROVISIONING_DIR = 'provisioning-chains';
const FORMAT = 1;

const ROOT_VALIDITY_DAYS = 20 * 365;
const ISSUING_VALIDITY_DAYS = 10 * 365;
/** A generated provisioning certificate is renewed this long before it expires (same root, same thumbprint). */
const PROVISIONING_RENEWAL_MS = 30 * 86_400_000;

interface StateFile {
  format: number;
  source: 'generated' | 'imported';
  /** Issuing CA first, root last. */
  chain: string[];
  issuingKey: string;
  /**
   * Kept (sealed) for generated CAs so that the issuing CA can one day be renewed under the same
   * root, whose thumbprint operators have entered into firmware. Imported CAs come without it.
   */
  rootKey?: string;
}

interface ProvisioningFile {
  format: number;
  source: ProvisioningCredential['source'];
  /** Leaf first, root last. */
  chain: string[];
  key: string;
}

export interface CaMaterial {
  /** Issuing CA first, root last. */
  chain: ParsedCertificate[];
  issuer: Signer;
  created: boolean;
}

/** Associated data binds each sealed key to its role and certificate: a key moved elsewhere does not open. */
const keyLabel = (role: 'root' | 'issuing' | 'provisioning', cert: ParsedCertificate) =>
  `amtflow-ca:${role}-key:${thumbprints(cert.der).sha256}`;

function openKey(box: SecretBox, sealed: string, label: string, file: string): KeyObject {
  try {
    return createPrivateKey(box.open(sealed, label));
  } catch (err) {
    throw new PkiError(
      'CA_STATE_INVALID',
      `${file}: a private key does not open with the configured key-encryption key (${(err as Error).message}); ` +
        'start with the key-encryption key the CA was created with',
    );
  }
}

function readJson<T extends { format: number }>(file: string): T | undefined {
  const text = readIfExists(file);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as T;
    if (parsed.format !== FORMAT) throw new Error(`format ${parsed.format}, expected ${FORMAT}`);
    return parsed;
  } catch (err) {
    throw new PkiError('CA_STATE_INVALID', `${file} cannot be read (${(err as Error).message})`);
  }
}

function loadCa(file: string, state: StateFile, box: SecretBox, now: Date): CaMaterial {
  const chain = state.chain.map((pem) => parseCertificate(pem, `${file} certificate`));
  const issuing = chain[0];
  if (!issuing) throw new PkiError('CA_STATE_INVALID', `${file} holds no certificate`);
  // Spec P1 at every start, not only at creation: the directory may hold a CA made or imported elsewhere.
  checkChain(chain, 0, now, file);
  const key = openKey(box, state.issuingKey, keyLabel('issuing', issuing), file);
  if (!keyMatches(key, issuing.x509.publicKey)) {
    throw new PkiError('CA_STATE_INVALID', `${file}: the issuing key does not belong to the issuing certificate`);
  }
  return { chain, issuer: { certificate: issuing, key }, created: false };
}

async function generateCa(
  config: CaConfig,
  box: SecretBox,
  now: Date,
): Promise<{ state: StateFile; material: CaMaterial }> {
  const [rootKey, issuingKey] = await Promise.all([generateRsaKey(config.keyBits), generateRsaKey(config.keyBits)]);
  const root = buildCaCertificate({
    serial: randomSerial(),
    commonName: `${config.organization} AMT Root CA`,
    organization: config.organization,
    publicKey: forgePublicKey(rootKey),
    validityDays: ROOT_VALIDITY_DAYS,
    selfKey: rootKey,
    now,
  });
  const issuing = buildCaCertificate({
    serial: randomSerial(),
    commonName: `${config.organization} AMT Issuing CA`,
    organization: config.organization,
    publicKey: forgePublicKey(issuingKey),
    validityDays: ISSUING_VALIDITY_DAYS,
    pathLen: 0,
    issuer: { certificate: root, key: rootKey },
    now,
  });
  const state: StateFile = {
    format: FORMAT,
    source: 'generated',
    chain: [issuing.pem, root.pem],
    issuingKey: box.seal(privateKeyPem(issuingKey), keyLabel('issuing', issuing)),
    rootKey: box.seal(privateKeyPem(rootKey), keyLabel('root', root)),
  };
  return {
    state,
    material: { chain: [issuing, root], issuer: { certificate: issuing, key: issuingKey }, created: true },
  };
}

/** An existing enterprise CA (issuing certificate, key, and its chain) from PKCS#12: `ca.issuingCaPkcs12File`. */
function importCa(config: CaConfig, box: SecretBox, now: Date): { state: StateFile; material: CaMaterial } {
  const file = path.resolve(config.issuingCaPkcs12File as string);
  const what = `issuing CA ${file}`;
  const password = config.issuingCaPasswordFile
    ? readFileSync(path.resolve(config.issuingCaPasswordFile), 'utf8').trim()
    : '';
  const { key, certificates } = readPkcs12(readFileSync(file), password, what);
  const issuing = certificateForKey(key, certificates, what);
  if (!issuing.x509.ca) {
    throw new PkiError('NOT_A_CA_CERTIFICATE', `${what}: "${oneLine(issuing.x509.subject)}" is not a CA certificate`);
  }
  const chain = buildChain(issuing, certificates, what);
  checkChain(chain, 0, now, what);
  const state: StateFile = {
    format: FORMAT,
    source: 'imported',
    chain: chain.map((cert) => cert.pem),
    issuingKey: box.seal(privateKeyPem(key), keyLabel('issuing', issuing)),
  };
  return { state, material: { chain, issuer: { certificate: issuing, key }, created: true } };
}

/**
 * The CA of this installation: read from `<dir>/ca.json`, or made once — generated, or imported
 * from `ca.issuingCaPkcs12File` — and then reused at every start. Spec P1 is checked before
 * anything is generated or written, so a refused configuration leaves no trace.
 */
export async function loadOrCreateCa(dir: string, config: CaConfig, box: SecretBox, now: Date): Promise<CaMaterial> {
  assertCaKeyBits(config.keyBits, 'ca.keyBits');
  const file = path.join(dir, STATE_FILE);
  const existing = readJson<StateFile>(file);
  if (existing) return loadCa(file, existing, box, now);
  const made = config.issuingCaPkcs12File ? importCa(config, box, now) : await generateCa(config, box, now);
  if (!createFileOnce(file, JSON.stringify(made.state, null, 2))) {
    // Another process created the CA first: use that one, so that every process signs with one CA.
    return loadCa(file, readJson<StateFile>(file) as StateFile, box, now);
  }
  return made.material;
}

/** Operator copies: `root.pem` (trust anchor) and `issuing.pem` (the rest of the chain). */
export function writeCaCopies(dir: string, chain: ParsedCertificate[]): void {
  const root = chain[chain.length - 1] as ParsedCertificate;
  const intermediates = chain
    .slice(0, -1)
    .map((cert) => cert.pem)
    .join('');
  for (const [name, content] of [
    ['root.pem', root.pem],
    ['issuing.pem', intermediates],
  ] as const) {
    if (readIfExists(path.join(dir, name)) !== content) writeFileAtomic(path.join(dir, name), content, 0o644);
  }
}

function credential(file: ProvisioningFile, box: SecretBox, where: string): ProvisioningCredential {
  const chain = file.chain.map((pem) => parseCertificate(pem, `${where} certificate`));
  const leaf = chain[0] as ParsedCertificate;
  const root = chain[chain.length - 1] as ParsedCertificate;
  return {
    source: file.source,
    commonName: leaf.forge.subject.getField('CN')?.value as string,
    chain,
    key: openKey(box, file.key, keyLabel('provisioning', leaf), where),
    rootThumbprints: thumbprints(root.der),
  };
}

function toFile(
  source: ProvisioningCredential['source'],
  chain: ParsedCertificate[],
  key: KeyObject,
  box: SecretBox,
): ProvisioningFile {
  const leaf = chain[0] as ParsedCertificate;
  return {
    format: FORMAT,
    source,
    chain: chain.map((cert) => cert.pem),
    key: box.seal(privateKeyPem(key), keyLabel('provisioning', leaf)),
  };
}

export interface ProvisioningOptions {
  dir: string;
  box: SecretBox;
  ca: CaMaterial;
  commonName: string;
  organization: string;
  keyBits: number;
  now: Date;
}

/**
 * The stored provisioning credential. An imported one is returned as it is (the caller checks it);
 * a generated one is (re)made when missing, when the configured name changed, when the CA changed,
 * or when it is about to expire — under the same root, so firmware hashes stay valid.
 */
export async function loadOrCreateProvisioning(options: ProvisioningOptions): Promise<ProvisioningCredential> {
  const file = path.join(options.dir, PROVISIONING_FILE);
  const stored = readJson<ProvisioningFile>(file);
  const current = stored && credential(stored, options.box, file);
  if (current && (current.source === 'imported' || isUpToDate(current, options))) return current;

  const key = await generateRsaKey(options.keyBits);
  const leaf = buildLeafCertificate({
    template: 'amt-provisioning',
    serial: randomSerial(),
    hostName: options.commonName,
    organization: options.organization,
    publicKey: forgePublicKey(key),
    issuer: options.ca.issuer,
    now: options.now,
  });
  const made = toFile('generated', [leaf, ...options.ca.chain], key, options.box);
  const text = JSON.stringify(made, null, 2);
  if (current) {
    writeFileAtomic(file, text);
  } else if (!createFileOnce(file, text)) {
    // Another process made it first: present the same certificate from every process.
    return credential(readJson<ProvisioningFile>(file) as ProvisioningFile, options.box, file);
  }
  return credential(made, options.box, file);
}

function isUpToDate(current: ProvisioningCredential, options: ProvisioningOptions): boolean {
  const leaf = current.chain[0] as ParsedCertificate;
  return (
    current.commonName === options.commonName &&
    leaf.x509.checkIssued(options.ca.issuer.certificate.x509) &&
    leaf.x509.verify(options.ca.issuer.certificate.x509.publicKey) &&
    new Date(leaf.x509.validTo).getTime() - options.now.getTime() > PROVISIONING_RENEWAL_MS
  );
}

/** Stores an imported provisioning credential (already checked), replacing the previous one. */
export function saveImportedProvisioning(
  dir: string,
  chain: ParsedCertificate[],
  key: KeyObject,
  box: SecretBox,
): ProvisioningCredential {
  const file = path.join(dir, PROVISIONING_FILE);
  const content = toFile('imported', chain, key, box);
  writeFileAtomic(file, JSON.stringify(content, null, 2));
  return credential(content, box, file);
}

/** The file of an additional provisioning chain, named by its root's SHA-256 thumbprint. */
function additionalProvisioningFile(dir: string, rootSha256: string): string {
  return path.join(dir, ADDITIONAL_PROVISIONING_DIR, `${rootSha256}.json`);
}

/**
 * Stores an additional provisioning credential (already checked) for the devices that trust its
 * root, replacing one under the same root.
 */
export function saveAdditionalProvisioning(
  dir: string,
  chain: ParsedCertificate[],
  key: KeyObject,
  box: SecretBox,
): ProvisioningCredential {
  const content = toFile('imported', chain, key, box);
  const file = additionalProvisioningFile(dir, thumbprints((chain[chain.length - 1] as ParsedCertificate).der).sha256);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify(content, null, 2));
  return credential(content, box, file);
}

/** The additional provisioning credentials as stored (the caller checks them), by file. */
export function loadAdditionalProvisioning(
  dir: string,
  box: SecretBox,
): { file: string; credential: ProvisioningCredential }[] {
  return additionalProvisioningFiles(dir).map((file) => ({
    file,
    credential: credential(readJson<ProvisioningFile>(file) as ProvisioningFile, box, file),
  }));
}

/**
 * What the additional chains on disk look like now (names, sizes, times): it changes whenever any
 * process adds or replaces one, so a process can tell it must read them again.
 */
export function additionalProvisioningStamp(dir: string): string {
  return additionalProvisioningFiles(dir)
    .map((file) => {
      const stat = statSync(file, { throwIfNoEntry: false });
      return `${path.basename(file)}:${stat?.size ?? 0}:${stat?.mtimeMs ?? 0}`;
    })
    .join('|');
}

function additionalProvisioningFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(path.join(dir, ADDITIONAL_PROVISIONING_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((name) => /^[0-9a-f]{64}\.json$/.test(name))
    .sort()
    .map((name) => path.join(dir, ADDITIONAL_PROVISIONING_DIR, name));
}

/** The CA directory of a configuration: `ca.dir`, default `<stateDir>/ca`. */
export function caDirectory(config: Pick<AmtflowConfig, 'stateDir' | 'ca'>): string {
  return path.resolve(config.ca.dir ?? path.join(config.stateDir, 'ca'));
}

/**
 * Key rotation, step two, for the CA directory: the issuing and root keys in `ca.json` and the
 * provisioning keys in `provisioning.json` and `provisioning-chains/`, sealed again under the current key with the same
 * associated data; each file written whole. Keys already under the current key stay as they are.
 * Returns how many keys moved.
 */
export function resealCaFiles(dir: string, box: SecretBox): number {
  let moved = 0;
  const reseal = (sealed: string, label: string): string => {
    const next = box.reseal(sealed, label);
    if (next === undefined) return sealed;
    moved++;
    return next;
  };
  const caFile = path.join(dir, STATE_FILE);
  const ca = readJson<StateFile>(caFile);
  if (ca) {
    const [issuing, root] = ca.chain.map((pem) => parseCertificate(pem, `${caFile} certificate`));
    const next: StateFile = {
      ...ca,
      issuingKey: reseal(ca.issuingKey, keyLabel('issuing', issuing as ParsedCertificate)),
      ...(ca.rootKey !== undefined ? { rootKey: reseal(ca.rootKey, keyLabel('root', root as ParsedCertificate)) } : {}),
    };
    if (moved > 0) writeFileAtomic(caFile, JSON.stringify(next, null, 2));
  }
  for (const provisioningFile of [path.join(dir, PROVISIONING_FILE), ...additionalProvisioningFiles(dir)]) {
    const provisioning = readJson<ProvisioningFile>(provisioningFile);
    if (!provisioning) continue;
    const leaf = parseCertificate(provisioning.chain[0] as string, `${provisioningFile} certificate`);
    const key = reseal(provisioning.key, keyLabel('provisioning', leaf));
    if (key !== provisioning.key) writeFileAtomic(provisioningFile, JSON.stringify({ ...provisioning, key }, null, 2));
  }
  return moved;
}

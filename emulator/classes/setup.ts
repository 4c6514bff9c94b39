import { createVerify } from 'node:crypto';
import { completeProvisioning, unprovision, type Nvram } from '../device/nvram';
import { checkProvisioningChain, refusesWeakChains } from '../device/provisioning-cert';
import { HASH_LENGTH, HASH_TYPE, customHashSlots, type HashAlgorithm } from '../device/root-hashes';
import { versionAtLeast } from '../device/version';
import { faults } from '../wsman/faults';
import type { FirmwareContext, MethodOutput, WsmanClass } from '../wsman/registry';
import type { Props } from '../wsman/writer';
import { isStrongPassword } from './account-rules';
import { PT, bool, decodeBase64, parseCertificate, requireAdmin, requireLocal, service } from './common';

/** SMBIOS byte order: the first three UUID groups little-endian. */
export function uuidBytes(uuid: string): Buffer {
  const b = Buffer.from(uuid.replace(/-/g, ''), 'hex');
  return Buffer.concat([
    b.subarray(0, 4).reverse(),
    b.subarray(4, 6).reverse(),
    b.subarray(6, 8).reverse(),
    b.subarray(8),
  ]);
}

/**
 * TLS settings take effect at CommitChanges (reference §4.11). Enabling TLS without a credential
 * context has no certificate to serve: refused as an invalid certificate.
 */
export function applyPendingTls(nvram: Nvram): number {
  const { remote, credentialContext } = nvram.tls;
  if (remote.enabled && credentialContext === null) return PT.INVALID_CERT;
  nvram.tls.applied = remote.enabled
    ? { ...remote, trustedCN: [...remote.trustedCN], certHandle: credentialContext }
    : null;
  return PT.SUCCESS;
}

function commitChanges(ctx: FirmwareContext): MethodOutput {
  const { nvram } = ctx;
  const p = nvram.provisioning;
  if (p.state === 0) return { returnValue: PT.INVALID_PROVISIONING_STATE };
  if (p.state === 1 && p.otp !== null && p.presentedOtp !== p.otp) return { returnValue: PT.NOT_PERMITTED };
  const tls = applyPendingTls(nvram);
  if (tls !== PT.SUCCESS) return { returnValue: tls };
  if (p.state === 1) {
    // Stage one ends: post-provisioning in admin control mode, keeping the admin password the
    // server set (or the MEBx-derived one it logged in with when it set none).
    completeProvisioning(nvram, 2, null);
    p.otp = null;
    ctx.signal({ kind: 'provisioning-changed' });
  }
  return { returnValue: PT.SUCCESS };
}

export const setupAndConfigurationService: WsmanClass = {
  name: 'AMT_SetupAndConfigurationService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 3,
  instances({ nvram }) {
    const p = nvram.provisioning;
    const props: Props = service('AMT_SetupAndConfigurationService', 'Intel(r) AMT Setup and Configuration Service', {
      PasswordModel: versionAtLeast(nvram.amtVersion, 6) ? 1 : 0,
      ProvisioningMode: p.mode,
      ProvisioningState: p.state,
      ZeroTouchConfigurationEnabled: p.remoteConfigEnabled,
      ConfigurationServerFQDN: p.configurationServerFqdn || undefined,
      // Readable only during in-provisioning (LMS header doc).
      ProvisioningServerOTP: p.state === 1 && p.otp ? Buffer.from(p.otp, 'ascii').toString('base64') : undefined,
    });
    if (versionAtLeast(nvram.amtVersion, 7)) {
      props.DhcpDNSSuffix = nvram.network.dhcpDnsSuffix;
      props.TrustedDNSSuffix = nvram.network.trustedDnsSuffix;
    }
    return [props];
  },
  put(ctx, _target, input) {
    const p = ctx.nvram.provisioning;
    const otp = input.text('ProvisioningServerOTP');
    if (otp !== undefined && otp !== '') {
      const ascii = decodeBase64(otp)?.toString('ascii');
      if (p.state !== 1 || !ascii || ascii.length < 8 || ascii.length > 32) throw faults.invalidRepresentation();
      // The provisioning server proves it knows the OTP by presenting it [inferred].
      p.presentedOtp = ascii;
    }
    p.remoteConfigEnabled = bool(input.text('ZeroTouchConfigurationEnabled'), p.remoteConfigEnabled);
    p.configurationServerFqdn = input.text('ConfigurationServerFQDN') ?? p.configurationServerFqdn;
    ctx.signal({ kind: 'provisioning-changed' });
  },
  methods: {
    CommitChanges: commitChanges,
    Unprovision(ctx, input) {
      requireAdmin(ctx);
      const mode = input.int('ProvisioningMode') ?? 0;
      if (![0, 1, 4].includes(mode)) return { returnValue: PT.INVALID_PARAMETER };
      if (ctx.nvram.provisioning.state === 0) return { returnValue: PT.INVALID_PROVISIONING_STATE };
      unprovision(ctx.nvram, false);
      ctx.signal({ kind: 'provisioning-changed' });
      return { returnValue: PT.SUCCESS };
    },
    PartialUnprovision(ctx) {
      requireAdmin(ctx);
      if (ctx.nvram.provisioning.state === 0) return { returnValue: PT.INVALID_PROVISIONING_STATE };
      unprovision(ctx.nvram, true);
      ctx.signal({ kind: 'provisioning-changed' });
      return { returnValue: PT.SUCCESS };
    },
    SetMEBxPassword(ctx, input) {
      const p = ctx.nvram.provisioning;
      // ACM only (CCM may not change the MEBx password); during remote configuration it ends in ACM.
      if (!(p.state === 1 || (p.state === 2 && p.controlMode === 2))) return { returnValue: PT.NOT_PERMITTED };
      const password = input.text('Password') ?? '';
      if (!isStrongPassword(password)) return { returnValue: PT.INVALID_PASSWORD };
      ctx.nvram.mebx = { password, changed: true };
      return { returnValue: PT.SUCCESS };
    },
    GetUuid(ctx) {
      return { returnValue: PT.SUCCESS, out: { UUID: uuidBytes(ctx.nvram.uuid).toString('base64') } };
    },
    ExtendProvisioningPeriod(ctx, input) {
      const hours = input.int('Duration') ?? 0;
      if (hours < 1 || hours > 24) return { returnValue: PT.INVALID_PARAMETER };
      if (ctx.nvram.provisioning.state !== 0) return { returnValue: PT.INVALID_PROVISIONING_STATE };
      ctx.signal({ kind: 'extend-provisioning-period', hours });
      return { returnValue: PT.SUCCESS };
    },
  },
};

/** IPS_HostBasedSetupService return codes (reference §2.6). */
const HBS = { SUCCESS: 0, INTERNAL: 1, INVALID_STATE: 2, INVALID_PARAM: 3, DISABLED: 4, AUTH_FAILED: 5 } as const;
const CHAIN = { SUCCESS: 0, INVALID_PARAM: 1, INVALID_STATE: 3, VERIFY_FAILED: 4, TOO_LONG: 5 } as const;
const MAX_CHAIN = 4;

/** The accumulated chain (leaf first) checked as the firmware checks provisioning certificates. */
function verifyAccumulatedChain(ctx: FirmwareContext): boolean {
  const chain = ctx.nvram.provisioning.certChain.map((b64) => parseCertificate(Buffer.from(b64, 'base64')));
  if (chain.some((c) => c === null)) return false;
  const result = checkProvisioningChain(chain as NonNullable<(typeof chain)[number]>[], ctx.nvram, ctx.now());
  if (result.ok) {
    ctx.nvram.provisioning.record = {
      hashAlgorithm: result.algorithm,
      hash: result.rootHash,
      serverCertCn: result.leafCn,
      hostInitiated: true,
      createdAt: ctx.now().toISOString(),
    };
  }
  return result.ok;
}

/** RSA-SHA256 signature by the provisioning leaf over ConfigurationNonce ‖ McNonce (reference §4.3). */
function verifyAdminSignature(
  ctx: FirmwareContext,
  mcNonceB64: string | undefined,
  sigB64: string | undefined,
  alg: number | undefined,
): number {
  const p = ctx.nvram.provisioning;
  if (p.certChainStatus !== 2) return HBS.INVALID_STATE;
  const mcNonce = decodeBase64(mcNonceB64);
  const signature = decodeBase64(sigB64);
  if (alg !== 2 || !mcNonce || mcNonce.length !== 20 || !signature) return HBS.INVALID_PARAM;
  const leaf = parseCertificate(Buffer.from(p.certChain[0]!, 'base64'));
  const data = Buffer.concat([Buffer.from(p.configurationNonce, 'base64'), mcNonce]);
  const ok = leaf !== null && createVerify('sha256').update(data).verify(leaf.publicKey, signature);
  return ok ? HBS.SUCCESS : HBS.AUTH_FAILED;
}

function networkAdminHa1(type: number | undefined, password: string | undefined): string | null {
  if (type !== 2 || !password || !/^[0-9a-fA-F]{32}$/.test(password)) return null;
  return password.toLowerCase();
}

export const hostBasedSetupService: WsmanClass = {
  name: 'IPS_HostBasedSetupService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  // Host-based configuration arrived with AMT 7.0 [inferred from RPS/MeshCentral minimums].
  since: [7, 0],
  realm: 3,
  instances({ nvram }) {
    const p = nvram.provisioning;
    return [
      service('IPS_HostBasedSetupService', 'Intel(r) AMT Host Based Setup Service', {
        AllowedControlModes: [2, 1],
        CertChainStatus: p.certChainStatus,
        ConfigurationNonce: p.configurationNonce,
        CurrentControlMode: p.controlMode,
        EnabledState: 2,
      }),
    ];
  },
  methods: {
    Setup(ctx, input) {
      requireLocal(ctx);
      if (ctx.nvram.provisioning.state !== 0) return { returnValue: HBS.INVALID_STATE };
      const ha1 = networkAdminHa1(input.int('NetAdminPassEncryptionType'), input.text('NetworkAdminPassword'));
      if (!ha1) return { returnValue: HBS.INVALID_PARAM };
      completeProvisioning(ctx.nvram, 1, ha1);
      ctx.signal({ kind: 'provisioning-changed' });
      return { returnValue: HBS.SUCCESS };
    },
    AddNextCertInChain(ctx, input) {
      requireLocal(ctx);
      const p = ctx.nvram.provisioning;
      if (p.state !== 0) return { returnValue: CHAIN.INVALID_STATE };
      const der = decodeBase64(input.text('NextCertificate'));
      const isLeaf = input.bool('IsLeafCertificate');
      const isRoot = input.bool('IsRootCertificate');
      if (!parseCertificate(der) || isLeaf === undefined || isRoot === undefined)
        return { returnValue: CHAIN.INVALID_PARAM };
      if (isLeaf) p.certChain = [];
      else if (p.certChainStatus !== 1) return { returnValue: CHAIN.INVALID_STATE };
      if (p.certChain.length >= MAX_CHAIN) {
        p.certChain = [];
        p.certChainStatus = 0;
        return { returnValue: CHAIN.TOO_LONG };
      }
      p.certChain.push(der!.toString('base64'));
      p.certChainStatus = 1;
      if (isRoot) {
        if (!verifyAccumulatedChain(ctx)) {
          p.certChain = [];
          p.certChainStatus = 0;
          return { returnValue: CHAIN.VERIFY_FAILED };
        }
        p.certChainStatus = 2;
      }
      return { returnValue: CHAIN.SUCCESS };
    },
    AdminSetup(ctx, input) {
      requireLocal(ctx);
      if (ctx.nvram.provisioning.state !== 0) return { returnValue: HBS.INVALID_STATE };
      const ha1 = networkAdminHa1(input.int('NetAdminPassEncryptionType'), input.text('NetworkAdminPassword'));
      if (!ha1) return { returnValue: HBS.INVALID_PARAM };
      const verdict = verifyAdminSignature(
        ctx,
        input.text('McNonce'),
        input.text('DigitalSignature'),
        input.int('SigningAlgorithm'),
      );
      if (verdict !== HBS.SUCCESS) return { returnValue: verdict };
      completeProvisioning(ctx.nvram, 2, ha1);
      ctx.signal({ kind: 'provisioning-changed' });
      return { returnValue: HBS.SUCCESS };
    },
    UpgradeClientToAdmin(ctx, input) {
      requireAdmin(ctx);
      const p = ctx.nvram.provisioning;
      if (p.state !== 2 || p.controlMode !== 1) return { returnValue: HBS.INVALID_STATE };
      const verdict = verifyAdminSignature(
        ctx,
        input.text('McNonce'),
        input.text('DigitalSignature'),
        input.int('SigningAlgorithm'),
      );
      if (verdict !== HBS.SUCCESS) return { returnValue: verdict };
      completeProvisioning(ctx.nvram, 2, null);
      return { returnValue: HBS.SUCCESS };
    },
  },
};

const HASH_TYPES: Record<number, HashAlgorithm> = {
  [HASH_TYPE.sha1]: 'sha1',
  [HASH_TYPE.sha256]: 'sha256',
  [HASH_TYPE.sha384]: 'sha384',
};
const hashInstanceId = (id: number) => `Intel(r) AMT: Certificate Hash ${id}`;

export const provisioningCertificateHash: WsmanClass = {
  name: 'AMT_ProvisioningCertificateHash',
  keys: ['InstanceID'],
  realm: 3,
  createFields: ['Description', 'Enabled', 'HashData', 'HashType'],
  instances({ nvram }) {
    return nvram.hashes.map((h) => ({
      Description: h.description,
      ElementName: 'Intel(r) AMT: Certificate Hash',
      Enabled: h.enabled,
      HashData: Buffer.from(h.hash, 'hex').toString('base64'),
      HashType: HASH_TYPE[h.algorithm],
      InstanceID: hashInstanceId(h.id),
      IsDefault: h.isDefault,
    }));
  },
  put(ctx, target, input) {
    const entry = ctx.nvram.hashes.find((h) => hashInstanceId(h.id) === target.InstanceID)!;
    entry.enabled = bool(input.text('Enabled'), entry.enabled);
  },
  create(ctx, input) {
    const { nvram } = ctx;
    const algorithm = HASH_TYPES[Number(input.text('HashType'))];
    const data = decodeBase64(input.text('HashData'));
    if (!algorithm || !data || data.length !== HASH_LENGTH[algorithm]) throw faults.invalidRepresentation();
    // ME 15/16 on: "it is no longer possible to add SHA1 hashes" (AMT SDK, "Root certificate hashes").
    if (algorithm === 'sha1' && refusesWeakChains(nvram)) throw faults.invalidRepresentation('InvalidValues');
    const custom = nvram.hashes.filter((h) => !h.isDefault).length;
    if (custom >= customHashSlots(versionAtLeast(nvram.amtVersion, 7))) throw faults.quotaLimit();
    const hash = data.toString('hex');
    if (nvram.hashes.some((h) => h.hash === hash)) throw faults.alreadyExists();
    const id = Math.max(-1, ...nvram.hashes.map((h) => h.id)) + 1;
    nvram.hashes.push({
      id,
      algorithm,
      hash,
      description: (input.text('Description') ?? 'Custom').slice(0, 64),
      isDefault: false,
      enabled: bool(input.text('Enabled'), true),
    });
    return { InstanceID: hashInstanceId(id) };
  },
  delete(ctx, target) {
    const index = ctx.nvram.hashes.findIndex((h) => hashInstanceId(h.id) === target.InstanceID);
    // Factory entries can be disabled, never deleted.
    if (ctx.nvram.hashes[index]!.isDefault) throw faults.accessDenied();
    ctx.nvram.hashes.splice(index, 1);
  },
};

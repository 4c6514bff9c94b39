/**
 * Factory root-certificate hashes. Real firmware ships the thumbprints of the public CAs that sell
 * "Intel vPro" provisioning certificates (SDK rootcertificatehashes.htm); these are the SHA-1 and
 * SHA-256 thumbprints of such public roots (computed from the Mozilla CA bundle). ME 11 dropped the
 * SHA-1 defaults (reference §6.4), so firmware before 11 carries SHA-1 entries and later firmware
 * SHA-256 entries.
 */
interface FactoryRoot {
  description: string;
  sha1: string;
  sha256: string;
}

const FACTORY_ROOTS: FactoryRoot[] = [
  {
    description: 'Baltimore CyberTrust Root',
    sha1: 'd4de20d05e66fc53fe1a50882c78db2852cae474',
    sha256: '16af57a9f676b0ab126095aa5ebadef22ab31119d644ac95cd4b93dbf3f26aeb',
  },
  {
    description: 'Comodo AAA CA',
    sha1: 'd1eb23a46d17d68fd92564c2f1f1601764d8e349',
    sha256: 'd7a7a0fb5d7e2731d771e9484ebcdef71d5f0c3e0a2948782bc83ee0ea699ef4',
  },
  {
    description: 'DigiCert Assured ID Root CA',
    sha1: '0563b8630d62d75abbc8ab1e4bdfb5a899b24d43',
    sha256: '3e9099b5015e8f486c00bcea9d111ee721faba355a89bcf1df69561e3dc6325c',
  },
  {
    description: 'DigiCert Global Root CA',
    sha1: 'a8985d3a65e5e5c4b2d7d66d40c6dd2fb19c5436',
    sha256: '4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161',
  },
  {
    description: 'DigiCert High Assurance EV Root CA',
    sha1: '5fb7ee0633e259dbad0c4c9ae6d38f1a61c7dc25',
    sha256: '7431e5f4c3c1ce4690774f0b61e05440883ba9a01ed00ba6abd7806ed3b118cf',
  },
  {
    description: 'Entrust.net CA (2048)',
    sha1: '503006091d97d4f5ae39f7cbe7927d7d652d3431',
    sha256: '6dc47172e01cbcb0bf62580d895fe2b8ac9ad4f873801e0c10b9c837d21eb177',
  },
  {
    description: 'Entrust Root CA',
    sha1: 'b31eb1b740e36c8402dadc37d44df5d4674952f9',
    sha256: '73c176434f1bc6d5adf45b0e76e727287c8de57616c1e6e6141a2b2cbc7d8e4c',
  },
  {
    description: 'Entrust Root CA - G2',
    sha1: '8cf427fd790c3ad166068de81e57efbb932272d4',
    sha256: '43df5774b03e7fef5fe40d931a7bedf1bb2e6b42738c4e6d3841103d3aa7f339',
  },
  {
    description: 'Go Daddy Class 2 CA',
    sha1: '2796bae63f1801e277261ba0d77770028f20eee4',
    sha256: 'c3846bf24b9e93ca64274c0ec67c1ecc5e024ffcacd2d74019350e81fe546ae4',
  },
  {
    description: 'Go Daddy Root CA - G2',
    sha1: '47beabc922eae80e78783462a79f45c254fde68b',
    sha256: '45140b3247eb9cc8c5b4f0d7b53091f73292089e6e5a63e2749dd3aca9198eda',
  },
  {
    description: 'Starfield Class 2 CA',
    sha1: 'ad7e1c28b064ef8f6003402014c3d0e3370eb58a',
    sha256: '1465fa205397b876faa6f0a9958e5590e40fcc7faa4fb7c2c8677521fb5fb658',
  },
  {
    description: 'Starfield Root CA - G2',
    sha1: 'b51c067cee2b0c3df855ab2d92f4fe39d4e70f0e',
    sha256: '2ce1cb0bf9d2f9e102993fbe215152c3b2dd0cabde1c68e5319b839154dbb7f5',
  },
  {
    description: 'GlobalSign Root CA - R3',
    sha1: 'd69b561148f01c77c54578c10926df5b856976ad',
    sha256: 'cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b',
  },
  {
    description: 'DigiCert Global Root G2',
    sha1: 'df3c24f9bfd666761b268073fe06d1cc8d4f82a4',
    sha256: 'cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f',
  },
];

/** HashType as AMT_ProvisioningCertificateHash and the hello use it (reference §6.3/§6.4). */
export const HASH_TYPE = { sha1: 1, sha256: 2, sha384: 3 } as const;
export type HashAlgorithm = keyof typeof HASH_TYPE;
export const HASH_LENGTH: Record<HashAlgorithm, number> = { sha1: 20, sha256: 32, sha384: 48 };

export function factoryRoots(sha256: boolean): { description: string; algorithm: HashAlgorithm; hash: string }[] {
  return FACTORY_ROOTS.map((r) => ({
    description: r.description,
    algorithm: sha256 ? 'sha256' : 'sha1',
    hash: sha256 ? r.sha256 : r.sha1,
  }));
}

/** Custom (user) hash slots: 3 before AMT 7.0, 13 from 7.0 on (reference §6.4, store sizes). */
export function customHashSlots(v7OrLater: boolean): number {
  return v7OrLater ? 13 : 3;
}

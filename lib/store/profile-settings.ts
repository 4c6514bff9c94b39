import { z } from 'zod';
import {
  ACCESS_PERMISSIONS,
  AMT_REALMS,
  IEEE8021X_PROTOCOLS,
  OPT_IN_REQUIRED,
  POWER_PACKAGES,
  WIRELESS_AUTHENTICATION,
  WIRELESS_ENCRYPTION,
} from '../amt/vocabulary';
import { strongAmtPassword, text } from './fields';

/**
 * AMT settings profiles: everything stage two applies (spec OOB9, I8) plus the MEBx policy of stage
 * one (OOB8.5). Names, not firmware numbers, so a profile reads like the console; the firmware's
 * vocabularies (lib/amt/vocabulary.ts) give the numbers the AMT client sends.
 *
 * One schema builder serves two shapes: the input an operator saves, with its secrets in place, and
 * the stored settings (jsonb), where every secret slot must be absent — the secrets are sealed
 * separately (profile_secrets) and read back one at a time with `profiles.revealSecret`.
 */

/** Names under which a profile's secrets are sealed; stage two reads each one by this name. */
export const profileSecretName = {
  mebx: () => 'mebx',
  digestUser: (username: string) => `acl/${username}`,
  wirelessPassphrase: (profile: string) => `wireless/${profile}/psk`,
  wirelessIeee8021x: (profile: string) => `wireless/${profile}/ieee8021x`,
  wiredIeee8021x: () => 'wired/ieee8021x',
};

const keysOf = <T extends object>(map: T) => Object.keys(map) as [keyof T & string, ...(keyof T & string)[]];

/** The names in `map` whose entry authenticates with `credential`, as a zod enum. */
function enumWhere<M extends Record<string, { credential: string }>, C extends M[keyof M]['credential']>(
  map: M,
  credential: C,
) {
  const names = keysOf(map).filter((name) => map[name]?.credential === credential);
  return z.enum(names as [keyof M & string, ...(keyof M & string)[]]);
}

/**
 * Names the firmware keeps for itself (AMT SDK "Valid user names and passwords"): `admin` (Release
 * 4.0 on) and `Administrator` (Release 3.2) belong to the built-in admin account; names beginning
 * with `$$` to internal accounts (`$$OsAdmin`, `$$uns`). Compared without case: a profile is saved
 * before anyone knows which firmware will receive it, and the SDK does not say how it compares.
 */
const RESERVED_USER_NAMES = new Set(['admin', 'administrator']);

/**
 * Digest user name of an ACL entry (AMT SDK, as above): 1–16 characters of 7-bit ASCII 33–126
 * without `:` `,` `<` `>` `&` `"`, and not a reserved name. Refused here, at profile save, because
 * AddUserAclEntryEx refuses it only after stage two has already cleared the ACL (OOB9.1).
 */
const digestUsername = z.string().superRefine((name, ctx) => {
  const problems = [
    ...(name.length < 1 || name.length > 16 ? ['must be 1–16 characters'] : []),
    ...(/^[\x21-\x7e]*$/.test(name) ? [] : ['must use only 7-bit ASCII characters 33–126 (no spaces)']),
    ...(/[:,<>&"]/.test(name) ? ['must not contain : , < > & or "'] : []),
    ...(name.startsWith('$$') ? ['names beginning with $$ are reserved by the firmware'] : []),
    ...(RESERVED_USER_NAMES.has(name.toLowerCase()) ? [`"${name}" is reserved for AMT's built-in admin account`] : []),
  ];
  if (problems.length) ctx.addIssue({ code: 'custom', message: `not a valid AMT user name: ${problems.join('; ')}` });
});

/**
 * Text the firmware stores as 7-bit ASCII (802.1X identities and passwords): printable ASCII 32–126.
 * AMT mishandles anything else (the SDK speaks of 7-bit strings throughout; Symantec TECH192452
 * reports authentication failing with non-ASCII characters). The 802.1X password is the RADIUS
 * account's own, so AMT's strong-password rule does not apply to it.
 */
function asciiText(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .regex(/^[\x20-\x7e]*$/, 'must use only 7-bit ASCII characters 32–126');
}

/** The schemas of the secret slots: validated strings on input, nothing at all once stored. */
interface SecretSlots<A extends z.ZodType, P extends z.ZodType, E extends z.ZodType> {
  amtPassword: A;
  passphrase: P;
  eapPassword: E;
}

const inputSecrets = {
  amtPassword: strongAmtPassword,
  passphrase: z.string().regex(/^[\x20-\x7e]{8,63}$/, 'must be 8–63 printable ASCII characters'),
  /**
   * The RADIUS account's password: AMT's strong-password rule does not apply, the length does
   * (AMT_8021XProfile Password MaxLen=32 in the SDK's class reference).
   */
  eapPassword: asciiText(1, 32),
};

const sealedElsewhere = () =>
  z.undefined({ error: 'secrets are sealed separately, never stored in the settings' }).optional();
const storedSecrets = { amtPassword: sealedElsewhere(), passphrase: sealedElsewhere(), eapPassword: sealedElsewhere() };

/** DOMAIN\name, name@dns.domain or a bare name; resolved to a SID in the directory at run time. */
const windowsAccount = text(1, 256).regex(
  /^([^\\@/]+\\[^\\@/]+|[^\\@/]+@[^\\@/]+|[^\\@/]+)$/,
  'must be DOMAIN\\name, name@domain or a name',
);

const realms = z
  .array(z.enum(keysOf(AMT_REALMS)))
  .min(1)
  .refine((list) => new Set(list).size === list.length, 'must not repeat a realm');

function settingsSchema<A extends z.ZodType, P extends z.ZodType, E extends z.ZodType>(secret: SecretSlots<A, P, E>) {
  /** 802.1X settings of a wired port or a wireless profile; password protocols carry a secret. */
  const ieee8021x = <X extends z.ZodRawShape>(extra: X) => {
    const common = {
      /** Name or suffix the RADIUS server's certificate must carry. */
      serverCertificateName: text(1, 255).optional(),
      serverCertificateNameComparison: z.enum(['full_name', 'domain_suffix']).default('full_name'),
      /** Root of the RADIUS server's chain, installed into the firmware (I6, SP2). PEM. */
      radiusRootCertificate: z
        .string()
        .regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'must be a PEM certificate')
        .optional(),
      /** Security groups the AMT account joins for this network (I5, in-band only). */
      securityGroups: z.array(text(1, 1024)).default([]),
      ...extra,
    };
    return z.discriminatedUnion('protocol', [
      z.strictObject({ protocol: enumWhere(IEEE8021X_PROTOCOLS, 'certificate'), ...common }),
      z.strictObject({
        protocol: enumWhere(IEEE8021X_PROTOCOLS, 'password'),
        // AMT_8021XProfile: Username and Domain MaxLen=128.
        username: asciiText(1, 128),
        domain: asciiText(1, 128).optional(),
        roamingIdentity: asciiText(1, 128).optional(),
        password: secret.eapPassword,
        ...common,
      }),
    ]);
  };

  const wirelessCommon = {
    /**
     * ElementName of the firmware's Wi-Fi profile: 1–32 ASCII letters and digits. AddWiFiSettings
     * refuses anything else, and only at OOB9.4, after the device's old profiles are deleted — so it
     * is refused here, at save (Intel's RPS validates the same rule before it sends a profile to AMT).
     */
    name: z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'must be 1–32 letters (A–Z, a–z) and digits only'),
    ssid: z.string().min(1).max(32),
    encryption: z.enum(keysOf(WIRELESS_ENCRYPTION)),
    priority: z.number().int().min(0).max(255),
  };
  const wirelessProfile = z.discriminatedUnion('authentication', [
    z.strictObject({
      authentication: enumWhere(WIRELESS_AUTHENTICATION, 'passphrase'),
      passphrase: secret.passphrase,
      ...wirelessCommon,
    }),
    z.strictObject({
      authentication: enumWhere(WIRELESS_AUTHENTICATION, 'ieee8021x'),
      ieee8021x: ieee8021x({}),
      ...wirelessCommon,
    }),
  ]);

  const access = z.enum(keysOf(ACCESS_PERMISSIONS)).default('network');
  const userAccount = z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('kerberos'), account: windowsAccount, realms, access }),
    z.strictObject({
      type: z.literal('digest'),
      username: digestUsername,
      password: secret.amtPassword,
      realms,
      access,
    }),
  ]);

  return z.strictObject({
    description: z.string().max(1000).default(''),
    /**
     * OOB9.1: the ACL is cleared, then holds exactly these accounts. The firmware keeps at most
     * `ACL_LIMITS` of each kind and refuses the next with MAX_LIMIT_REACHED — after the clear, so
     * the limit is checked here, at save (`aclWithinLimits`).
     */
    userAccounts: z.array(userAccount).default([]),
    /** OOB9.2 */
    ping: z.boolean().default(true),
    webUi: z.boolean().default(false),
    serialOverLan: z.boolean().default(false),
    ideRedirection: z.boolean().default(false),
    kvm: z.boolean().default(false),
    userConsent: z.enum(keysOf(OPT_IN_REQUIRED)).default('all'),
    /** OOB9.3 */
    powerPackage: z.enum(keysOf(POWER_PACKAGES)).default('desktop_s0_s3_s45'),
    /** OOB9.4: existing wireless profiles are deleted, then these are stored. */
    wireless: z.array(wirelessProfile).max(8).default([]),
    wiredIeee8021x: ieee8021x({
      availableInS0: z.boolean().default(true),
      pxeTimeoutSeconds: z.number().int().min(0).max(86400).default(120),
    })
      .nullable()
      .default(null),
    /** OOB8.5: leave the MEBx password alone, set the configured one, or set a random one per device. */
    mebx: z
      .discriminatedUnion('policy', [
        z.strictObject({ policy: z.literal('leave') }),
        z.strictObject({ policy: z.literal('set'), password: secret.amtPassword }),
        z.strictObject({ policy: z.literal('random') }),
      ])
      .default({ policy: 'leave' }),
  });
}

/**
 * Room in the firmware's user ACL besides the built-in admin: seven Digest users and 32 Kerberos
 * (Active Directory) users or groups, as Intel's own configuration software enforces (Intel SCS 11
 * profile wizard, "Defining the Access Control List (ACL)"); the AMT SDK documents only the refusal,
 * PT_STATUS_MAX_LIMIT_REACHED from AddUserAclEntryEx.
 */
export const ACL_LIMITS = { digest: 7, kerberos: 32 } as const;

function aclWithinLimits(settings: { userAccounts: { type: 'digest' | 'kerberos' }[] }, ctx: z.RefinementCtx): void {
  for (const type of ['digest', 'kerberos'] as const) {
    const count = settings.userAccounts.filter((u) => u.type === type).length;
    if (count > ACL_LIMITS[type]) {
      ctx.addIssue({
        code: 'custom',
        path: ['userAccounts'],
        message: `holds ${count} ${type} accounts; AMT keeps at most ${ACL_LIMITS[type]}`,
      });
    }
  }
}

/** Names and priorities a device keeps one of must be unique within a profile. */
function rejectDuplicates(
  settings: {
    userAccounts: ({ type: 'digest'; username: string } | { type: 'kerberos'; account: string })[];
    wireless: { name: string; priority: number }[];
  },
  ctx: z.RefinementCtx,
): void {
  const duplicates = (values: string[], path: (i: number) => (string | number)[], what: string) =>
    values.forEach((value, i) => {
      if (values.indexOf(value) !== i) ctx.addIssue({ code: 'custom', path: path(i), message: `duplicate ${what}` });
    });
  duplicates(
    settings.userAccounts.map((u) =>
      (u.type === 'digest' ? `digest:${u.username}` : `kerberos:${u.account}`).toLowerCase(),
    ),
    (i) => ['userAccounts', i],
    'user account',
  );
  duplicates(
    settings.wireless.map((w) => w.name),
    (i) => ['wireless', i, 'name'],
    'wireless profile name',
  );
  duplicates(
    settings.wireless.map((w) => String(w.priority)),
    (i) => ['wireless', i, 'priority'],
    'wireless profile priority',
  );
}

/** What an operator saves: settings with their secrets in place. */
export const amtSettingsInputSchema = settingsSchema(inputSecrets)
  .superRefine(rejectDuplicates)
  .superRefine(aclWithinLimits);
/** What the database holds and stage two reads: the same settings, every secret slot empty. */
export const amtSettingsSchema = settingsSchema(storedSecrets)
  .superRefine(rejectDuplicates)
  .superRefine(aclWithinLimits);
export type AmtSettingsInput = z.input<typeof amtSettingsInputSchema>;
export type AmtSettings = z.output<typeof amtSettingsSchema>;

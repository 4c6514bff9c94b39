import { z } from 'zod';
import { HASH_LENGTH, type HashAlgorithm } from './root-hashes';
import { isSupportedVersion } from './version';

/**
 * What a device looks like when it first powers up: the input of the NVRAM factory. Fleet files,
 * the CLI and the library API all go through this schema, so a bad profile fails the same way
 * everywhere (EmulatorError INVALID_PROFILE naming the field).
 */
const hex = (algorithm: HashAlgorithm) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${HASH_LENGTH[algorithm] * 2}}$`), `must be ${HASH_LENGTH[algorithm]} bytes hex`);

export const customHashSchema = z.discriminatedUnion('algorithm', [
  z.object({ algorithm: z.literal('sha1'), hash: hex('sha1'), description: z.string().max(64).default('Custom') }),
  z.object({ algorithm: z.literal('sha256'), hash: hex('sha256'), description: z.string().max(64).default('Custom') }),
  z.object({ algorithm: z.literal('sha384'), hash: hex('sha384'), description: z.string().max(64).default('Custom') }),
]);

const hostPort = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port');
const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');
const ipv4Loopback = z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'must be a 127.x.y.z address');

export const deviceProfileSchema = z
  .object({
    uuid: uuid.optional(),
    /** Loopback address; the fleet assigns consecutive addresses from `firstIp` when absent. */
    address: ipv4Loopback.optional(),
    amtVersion: z.string().refine(isSupportedVersion, 'must be an AMT version from 3.2.1 to 19.x').default('11.8.50'),
    /** Build number, shown after the version in the `Server:` header. */
    build: z
      .string()
      .regex(/^\d{1,5}$/)
      .default('3425'),
    sku: z
      .string()
      .regex(/^\d{1,6}$/)
      .default('16392'),
    state: z.enum(['pre', 'post']).default('pre'),
    /** Only for state post: the control mode the device was provisioned in. */
    controlMode: z.enum(['acm', 'ccm']).default('acm'),
    /** Only for state post: the admin password the device was provisioned with. */
    adminPassword: z.string().min(1).max(32).default('P@ssw0rd'),
    /** MEBx password; the factory default is `admin` (changed = anything else). */
    mebxPassword: z.string().min(1).max(32).default('admin'),
    /** DNS suffix from DHCP option 15. */
    dnsSuffix: z.string().max(192).default('corp.example.test'),
    /** PKI DNS suffix configured in MEBx; takes precedence over the DHCP one when set. */
    trustedDnsSuffix: z.string().max(192).default(''),
    /** Remote configuration (zero touch) enabled in MEBx: the device enters setup mode and says hello. */
    remoteConfig: z.boolean().default(true),
    /** Provisioning server for hellos; default `ProvisionServer.<suffix>:9971`. */
    hello: hostPort.nullable().default(null),
    /** Whether the device sends hellos at all when in setup mode. */
    helloEnabled: z.boolean().default(true),
    customHashes: z.array(customHashSchema).max(13).default([]),
    /** The OS has the HECI (MEI) driver: the in-band agent needs it (IB1). */
    heci: z.boolean().default(true),
    wireless: z.boolean().default(true),
    /**
     * What the Wi-Fi hardware can do (CIM_WiFiEndpointCapabilities): AuthenticationMethod values
     * (2 open, 3 shared key, 4 WPA-PSK, 5 WPA-802.1X, 6 WPA2-PSK, 7 WPA2-802.1X, 32768 WPA3-SAE,
     * 32769 WPA3-OWE) and EncryptionMethod values (2 WEP, 3 TKIP, 4 CCMP, 5 none). Newer Wi-Fi
     * modules dropped TKIP and WEP; AddWiFiSettings refuses what is not listed.
     */
    wifiAuthenticationMethods: z.array(z.number().int().min(1).max(65535)).max(16).default([2, 3, 4, 5, 6, 7]),
    wifiEncryptionMethods: z.array(z.number().int().min(1).max(65535)).max(8).default([2, 3, 4, 5]),
    /**
     * Firmware with RFC 5746 secure renegotiation (every current one). False plays the older
     * firmware without it: its TLS port speaks TLS 1.0/1.1 and omits renegotiation_info, which
     * OpenSSL 3 clients refuse unless they allow legacy servers (docs/emulator.md).
     */
    secureRenegotiation: z.boolean().default(true),
    /**
     * AMT's clock ahead (positive) or behind the host's, in seconds, at first power-up: a real-time
     * clock that drifted (a flat CMOS battery, months in a box). Kerberos fails beyond 5 minutes.
     */
    clockDriftSeconds: z
      .number()
      .int()
      .min(-10 * 365 * 86_400)
      .max(10 * 365 * 86_400)
      .default(0),
    /**
     * The switch port's 802.1X, which decides while the host's OS is not running (with the OS up,
     * its own supplicant answers the port): null, no 802.1X on the port; else the EAP methods
     * (IPS_IEEE8021xSettings.AuthenticationProtocol values) and, when given, the identities the
     * RADIUS server accepts. Firmware whose 802.1X settings the network refuses is cut off from it
     * until the OS runs again (spec UPD4).
     */
    wiredNetwork8021x: z
      .object({
        protocols: z.array(z.number().int().min(0).max(10)).min(1).max(11),
        usernames: z.array(z.string().min(1).max(128)).max(64).optional(),
      })
      .strict()
      .nullable()
      .default(null),
    /** Added before every answer on the device ports. */
    latencyMs: z.number().int().min(0).max(60_000).default(0),
  })
  .strict();

export type DeviceProfileInput = z.input<typeof deviceProfileSchema>;
export type DeviceProfile = z.output<typeof deviceProfileSchema>;

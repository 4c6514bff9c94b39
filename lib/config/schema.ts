import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The one validated configuration of amtflow. Every process (worker, API, hello listener, CLI,
 * scripts) reads it through `loadConfig`, so a bad value fails the same way everywhere: at start,
 * naming the key.
 */

const port = z.number().int().min(0).max(65535);
const hostPort = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port');

export const temporalSchema = z
  .object({
    /** Connection profile in temporal-config/profiles.toml (@temporalio/envconfig format). */
    profile: z.string().min(1).default('dev'),
    profilesFile: z.string().min(1).default('temporal-config/profiles.toml'),
    /** Overrides of the profile, for tests and one-off runs. */
    address: hostPort.optional(),
    namespace: z.string().min(1).optional(),
  })
  .strict();

export const databaseSchema = z
  .object({
    /** PostgreSQL URL. Absent: PGlite embedded under `<stateDir>/db`. */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  })
  .strict();

export const secretsSchema = z
  .object({
    /**
     * Key-encryption keys for credentials and CA keys at rest: 32 bytes each, base64, oldest first,
     * comma-separated (lib/crypto/kek.ts). Either given here (from AMTFLOW_KEK, e.g. injected by a
     * secret manager) or read from `keyFile`, one key per line. The key file lives outside the
     * database directory: the keys are never stored next to the data they protect.
     */
    key: z
      .string()
      .refine(
        (v) =>
          v
            .split(',')
            .every((k) => /^[A-Za-z0-9+/]+={0,2}$/.test(k.trim()) && Buffer.from(k.trim(), 'base64').length === 32),
        'must be one or more keys of 32 bytes, base64-encoded, comma-separated',
      )
      .optional(),
    keyFile: z.string().min(1).optional(),
  })
  .strict();

export const directorySchema = z
  .object({
    /** ldaps://host:636, or ldap://host:389 with startTls (default), or plain only if allowPlain. */
    url: z.string().regex(/^ldaps?:\/\//, 'must be an ldap:// or ldaps:// URL'),
    startTls: z.boolean().default(true),
    /** Plain LDAP without TLS: development only, and only when said here. */
    allowPlain: z.boolean().default(false),
    /** CA certificate (PEM) that signed the directory server's certificate. */
    caFile: z.string().optional(),
    /**
     * Name to verify in the server certificate when the URL names the server by IP address (the dev
     * DC listens on a loopback address; its certificate names AMTFLOW-DC.<domain>).
     */
    tlsServerName: z.string().min(1).optional(),
    /** Per-operation and connect timeout; an unreachable DC fails the activity instead of hanging it. */
    timeoutMs: z.number().int().positive().default(15_000),
    bindDn: z.string().min(1),
    /** The bind password is read from a file so it never sits in the configuration itself. */
    bindPasswordFile: z.string().min(1),
    /**
     * DNS name of amtflow's own domain (the out-of-band service point's), e.g. corp.example.test.
     * The forest and its domain trees are read from the directory; P4's namespace check compares
     * each computer with the tree this domain belongs to.
     */
    domain: z
      .string()
      .min(1)
      .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'must be a DNS domain name'),
    /** Kerberos realm of that domain; defaults to the upper-cased domain (the dev DC is provisioned with it). */
    realm: z.string().optional(),
    /** Container for AMT accounts, relative to each domain's naming context (spec P3). */
    amtContainer: z.string().min(1).default('OU=AMT Devices'),
  })
  .strict();

export const caSchema = z
  .object({
    /** Directory holding the CA's certificates and encrypted keys. Default `<stateDir>/ca`. */
    dir: z.string().optional(),
    /**
     * RSA key size of the CA and of the keys it generates. Spec P1: AMT cannot use CA keys over 2048
     * bits; the CA refuses a larger value at start with CA_KEY_TOO_LARGE (one rule, in lib/pki).
     * AMT 15/16 and later refuse provisioning chains with RSA keys under 2048 bits (AMT SDK "Root
     * certificate hashes"), so a smaller value is refused here.
     */
    keyBits: z
      .number()
      .int()
      .min(2048, 'must be at least 2048: AMT 15/16 and later refuse RSA keys under 2048 bits')
      .default(2048),
    /** Namespace the provisioning certificate's CN lives in, e.g. corp.example.test. */
    provisioningDomain: z.string().optional(),
    /** CN of the generated provisioning certificate; default `provisionserver.<provisioningDomain>`. */
    provisioningCommonName: z.string().optional(),
    organization: z.string().min(1).default('amtflow'),
    /**
     * An existing enterprise CA to issue from instead of generating one: PKCS#12 with the issuing
     * CA's key, its certificate and the chain up to the root. Read once, when the CA directory is empty.
     */
    issuingCaPkcs12File: z.string().min(1).optional(),
    /** File holding that PKCS#12 file's password (absent: no password). */
    issuingCaPasswordFile: z.string().min(1).optional(),
    /** CRL distribution point written into issued certificates, e.g. the API's CRL address. */
    crlUrl: z
      .string()
      .regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL')
      .optional(),
  })
  .strict();

export const amtSchema = z
  .object({
    /** TCP connect plus TLS handshake, per request. */
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** First request byte to last response byte, per request (RPS uses 12 s). */
    responseTimeoutMs: z.number().int().positive().default(20_000),
    /**
     * Spec OOB6: Digest accounts tried after the device's own stored credentials, in order. The
     * password is read from a file; `factoryDefault` stands for AMT's documented factory password
     * (`admin`), which is no secret.
     */
    provisioningAccounts: z
      .array(
        z
          .object({
            name: z.string().min(1),
            username: z.string().min(1).default('admin'),
            passwordFile: z.string().min(1).optional(),
            factoryDefault: z.boolean().default(false),
          })
          .strict()
          .refine(
            (a) => Boolean(a.passwordFile) !== a.factoryDefault,
            'give either passwordFile or factoryDefault: true',
          ),
      )
      .default([{ name: 'factory', username: 'admin', factoryDefault: true }]),
  })
  .strict();

export const listenersSchema = z
  .object({
    /** Address every listener binds to unless its own is given. */
    host: z.string().min(1).default('127.0.0.1'),
    /**
     * Per-listener addresses: the hello listener faces the devices' network, the API and the codec
     * server face operators (issue 11 §7). Each defaults to `host`.
     */
    apiHost: z.string().min(1).optional(),
    helloHost: z.string().min(1).optional(),
    codecHost: z.string().min(1).optional(),
    apiPort: port.default(8080),
    helloPort: port.default(9971),
    codecPort: port.default(8888),
    /** Browser origins of the Temporal Web UI, which call the codec server to show decoded payloads. */
    webUiOrigins: z.array(z.url()).default(['http://127.0.0.1:8233']),
    /**
     * Reverse proxies in front of the API whose `X-Forwarded-For` names the client (addresses or
     * CIDR ranges, Fastify `trustProxy`). An agent report's wired address must equal its connection's
     * source (issue 9), which behind a proxy only the proxy knows. None by default.
     */
    trustedProxies: z
      .array(z.string().refine((v) => isIP(v.split('/')[0] ?? '') !== 0, 'must be an IP address or CIDR range'))
      .max(64)
      .default([]),
  })
  .strict();

/**
 * Limits of the HTTP API against slow or hostile clients (issue 12 §4). Fastify's own options where
 * they fit: `connectionTimeout`, `keepAliveTimeout`, `bodyLimit`; Node's `headersTimeout`. Node's
 * `requestTimeout` is not used: it bounds the whole request, and would cut the console's SOL and
 * IDE-R byte streams (up to a day, time-limited by their broker); a body deadline applies to every
 * other route instead.
 */
export const apiLimitsSchema = z
  .object({
    /** A connection with nothing read or written for this long is closed (console streams excepted). */
    connectionTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
    /** An idle keep-alive connection is closed after this. */
    keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
    /** Every request header must have arrived within this (slow headers: the connection is closed). */
    headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** The whole body must have arrived within this after the headers: 408 `REQUEST_TIMEOUT` otherwise. */
    bodyTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Largest JSON body, in bytes (413 beyond). CSV imports have their own limit. */
    bodyLimitBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
    /**
     * Requests without a valid token (operator routes) or agent credential, per source address:
     * beyond `max` in `windowMs` they are answered 429 `RATE_LIMITED` (@fastify/rate-limit).
     */
    unauthenticated: z
      .object({
        max: z.number().int().min(1).max(100_000).default(30),
        windowMs: z.number().int().min(1000).max(86_400_000).default(60_000),
      })
      .strict()
      .default({ max: 30, windowMs: 60_000 }),
  })
  .strict();

/** Seconds, minutes, hours or days, e.g. `15 minutes`, `1 day` (Temporal's duration strings). */
const duration = z
  .string()
  .regex(
    /^\d{1,6} (seconds?|minutes?|hours?|days?)$/,
    'must be a duration such as "30 seconds", "15 minutes" or "1 day"',
  );

/**
 * Throttling of collection-wide work, the out-of-band service point's: at most `maxConcurrent`
 * devices at a time, and `batchDelay` between one batch and the next.
 */
export const throttleSchema = z
  .object({
    maxConcurrent: z.number().int().min(1).max(500).default(10),
    batchDelay: duration.default('5 seconds'),
  })
  .strict();

/**
 * The Temporal Schedules amtflow keeps (issue 11 §4), created or brought up to date at start.
 * `automaticProvisioning.every`: how often each collection with automatic provisioning sweeps its
 * devices that said hello and are not provisioned. `certificateRenewal.daysBeforeExpiry`: an AMT
 * web-server certificate is renewed this many days before it expires (Configuration Manager's
 * default, 42). `passwordRotation.days`: the AMT remote admin password is rotated when older.
 */
export const schedulesSchema = z
  .object({
    enabled: z.boolean().default(true),
    throttle: throttleSchema.default({ maxConcurrent: 10, batchDelay: '5 seconds' }),
    automaticProvisioning: z
      .object({ every: duration.default('1 hour') })
      .strict()
      .default({ every: '1 hour' }),
    certificateRenewal: z
      .object({ every: duration.default('1 day'), daysBeforeExpiry: z.number().int().min(1).max(3650).default(42) })
      .strict()
      .default({ every: '1 day', daysBeforeExpiry: 42 }),
    passwordRotation: z
      .object({ every: duration.default('1 day'), days: z.number().int().min(1).max(3650).default(28) })
      .strict()
      .default({ every: '1 day', days: 28 }),
  })
  .strict();

/**
 * What one lifecycle worker process (`npm run worker`) takes on at once: Temporal worker options of
 * the same names. A run's steps are local activities chained inside one workflow task
 * (docs/architecture.md, "Activities"), and the worker keeps that task, and its slot, until the chain
 * reaches a timer, a checkpoint, a decision or the end: `maxConcurrentWorkflowTaskExecutions` is how
 * many runs make progress at once in the process. The others wait, costing nothing but a row, as
 * workflow tasks on the Temporal server's task queue, and are taken in turn as slots free.
 * `maxConcurrentLocalActivityExecutions` is how many steps run at once; it should not be below the
 * former, or runs hold a slot while their step waits. More slots pay when runs wait on the network
 * (firmware latency); with fast devices the CPU is the limit and more only costs memory
 * (docs/benchmarks.md). Defaults: the SDK's 40 and 100.
 */
export const workerSchema = z
  .object({
    // sdk-core's rule (worker/mod.rs): with a sticky cache, the sticky and the normal queue need a slot each.
    maxConcurrentWorkflowTaskExecutions: z
      .number()
      .int()
      .min(2, 'must be at least 2: with a sticky cache the sticky and the normal task queue need a slot each')
      .max(2_000)
      .default(40),
    maxConcurrentLocalActivityExecutions: z.number().int().min(1).max(2_000).default(100),
  })
  .strict();

export const metricsSchema = z
  .object({
    /**
     * host:port where each `npm run worker` serves the Temporal SDK's worker metrics in Prometheus
     * format (`/metrics`). Absent: not served. The front door's own metrics are at the API's `/metrics`.
     */
    workerAddress: hostPort.optional(),
  })
  .strict();

/** An address of the loopback network 127.0.0.0/8, where the dev setup gives each server its own. */
const loopbackIp = z
  .string()
  .regex(/^127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/, 'must be an IPv4 address in 127.0.0.0/8');

/**
 * The development setup `npm start` runs beside amtflow. Its other addresses are amtflow's own:
 * the Temporal dev server listens on `temporal.address` (else the profile's), the API, hello
 * listener and codec server on `listeners`, everything is kept under `stateDir`.
 */
export const devSchema = z
  .object({
    /** Web UI port of the Temporal dev server. Default: its frontend port + 1000 (the CLI's own rule). */
    temporalUiPort: port.min(1).optional(),
    /** Address of the dev Samba AD DC, used when no `directory` is configured. */
    dcIp: loopbackIp.default('127.77.0.1'),
    /** `off`: `npm start` brings up the stack without the demo fleet, ready for real devices. */
    demo: z.enum(['on', 'off']).default('on'),
    /** Devices in the demo fleet, 0–20: the first ones of scripts/demo.ts `demoPlan`. */
    demoDevices: z.number().int().min(0).max(20).default(20),
    /** Address of the first demo device; the others follow. Their UUIDs derive from their addresses. */
    demoFirstIp: loopbackIp.default('127.20.0.1'),
  })
  .strict();

export const configSchema = z
  .object({
    /** Where amtflow keeps its local state: PGlite, Temporal's SQLite, the CA, the dev directory. */
    stateDir: z.string().min(1).default('.state'),
    temporal: temporalSchema.default({ profile: 'dev', profilesFile: 'temporal-config/profiles.toml' }),
    database: databaseSchema.default({}),
    secrets: secretsSchema.default({}),
    directory: directorySchema.optional(),
    ca: caSchema.default({ keyBits: 2048, organization: 'amtflow' }),
    listeners: listenersSchema.default({
      host: '127.0.0.1',
      apiPort: 8080,
      helloPort: 9971,
      codecPort: 8888,
      webUiOrigins: ['http://127.0.0.1:8233'],
      trustedProxies: [],
    }),
    api: apiLimitsSchema.default({
      connectionTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
      bodyLimitBytes: 64 * 1024,
      unauthenticated: { max: 30, windowMs: 60_000 },
    }),
    amt: amtSchema.default({
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 20_000,
      provisioningAccounts: [{ name: 'factory', username: 'admin', factoryDefault: true }],
    }),
    worker: workerSchema.default({
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentLocalActivityExecutions: 100,
    }),
    metrics: metricsSchema.default({}),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    schedules: schedulesSchema.default({
      enabled: true,
      throttle: { maxConcurrent: 10, batchDelay: '5 seconds' },
      automaticProvisioning: { every: '1 hour' },
      certificateRenewal: { every: '1 day', daysBeforeExpiry: 42 },
      passwordRotation: { every: '1 day', days: 28 },
    }),
    dev: devSchema.default({ dcIp: '127.77.0.1', demo: 'on', demoDevices: 20, demoFirstIp: '127.20.0.1' }),
  })
  .strict();

export type AmtflowConfig = z.infer<typeof configSchema>;
export type DirectoryConfig = z.infer<typeof directorySchema>;
export type CaConfig = z.infer<typeof caSchema>;
export type AmtConfig = z.infer<typeof amtSchema>;
export type ApiLimitsConfig = z.infer<typeof apiLimitsSchema>;
export type SchedulesConfig = z.infer<typeof schedulesSchema>;
export type ThrottleConfig = z.infer<typeof throttleSchema>;
export type WorkerConfig = z.infer<typeof workerSchema>;

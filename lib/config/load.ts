import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { configSchema, type AmtflowConfig } from './schema';

/** Raised at start when the configuration is unusable; the message names every bad key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`Invalid amtflow configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Environment variables that override file values. Each maps to one key path; numbers and booleans
 * are converted here so that the schema's message speaks of the value the operator typed.
 */
/** How an environment variable's text becomes a configuration value. */
type EnvType = 'string' | 'number' | 'boolean' | 'list';

const ENV_KEYS: Record<string, { path: string[]; type: EnvType }> = {
  AMTFLOW_STATE_DIR: { path: ['stateDir'], type: 'string' },
  AMTFLOW_DATABASE_URL: { path: ['database', 'url'], type: 'string' },
  AMTFLOW_TEMPORAL_PROFILE: { path: ['temporal', 'profile'], type: 'string' },
  AMTFLOW_TEMPORAL_ADDRESS: { path: ['temporal', 'address'], type: 'string' },
  AMTFLOW_TEMPORAL_NAMESPACE: { path: ['temporal', 'namespace'], type: 'string' },
  AMTFLOW_KEK: { path: ['secrets', 'key'], type: 'string' },
  AMTFLOW_KEK_FILE: { path: ['secrets', 'keyFile'], type: 'string' },
  AMTFLOW_CA_KEY_BITS: { path: ['ca', 'keyBits'], type: 'number' },
  AMTFLOW_API_PORT: { path: ['listeners', 'apiPort'], type: 'number' },
  AMTFLOW_API_HOST: { path: ['listeners', 'apiHost'], type: 'string' },
  AMTFLOW_HELLO_HOST: { path: ['listeners', 'helloHost'], type: 'string' },
  AMTFLOW_CODEC_HOST: { path: ['listeners', 'codecHost'], type: 'string' },
  AMTFLOW_TRUSTED_PROXIES: { path: ['listeners', 'trustedProxies'], type: 'list' },
  AMTFLOW_WORKER_WORKFLOW_TASK_SLOTS: { path: ['worker', 'maxConcurrentWorkflowTaskExecutions'], type: 'number' },
  AMTFLOW_WORKER_LOCAL_ACTIVITY_SLOTS: { path: ['worker', 'maxConcurrentLocalActivityExecutions'], type: 'number' },
  AMTFLOW_WORKER_METRICS_ADDRESS: { path: ['metrics', 'workerAddress'], type: 'string' },
  AMTFLOW_HELLO_PORT: { path: ['listeners', 'helloPort'], type: 'number' },
  AMTFLOW_CODEC_PORT: { path: ['listeners', 'codecPort'], type: 'number' },
  AMTFLOW_LOG_LEVEL: { path: ['log', 'level'], type: 'string' },
  AMTFLOW_TEMPORAL_UI_PORT: { path: ['dev', 'temporalUiPort'], type: 'number' },
  AMTFLOW_DEV_DC_IP: { path: ['dev', 'dcIp'], type: 'string' },
  AMTFLOW_DEMO: { path: ['dev', 'demo'], type: 'string' },
  AMTFLOW_DEMO_DEVICES: { path: ['dev', 'demoDevices'], type: 'number' },
  AMTFLOW_DEMO_FIRST_IP: { path: ['dev', 'demoFirstIp'], type: 'string' },
};

type Json = Record<string, unknown>;

/**
 * Environment variables that carry secrets. The first `loadConfig` over process.env takes them out
 * of it — keeping them here for later calls — so that no child process (the Temporal dev server,
 * Samba, a shell) ever inherits a key-encryption key.
 */
const SECRET_ENV = ['AMTFLOW_KEK'] as const;
const withheld = new Map<string, string>();

function environment(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  if (env !== undefined && env !== process.env) return env;
  for (const name of SECRET_ENV) {
    const value = process.env[name];
    if (value === undefined) continue;
    withheld.set(name, value);
    delete process.env[name];
  }
  return { ...process.env, ...Object.fromEntries(withheld) };
}

/**
 * Why a configuration file is not JSON, without a word of its content: V8's messages quote the
 * text around the error ("Unexpected token 'p', "password=…" is not valid JSON"), and a
 * configuration file may hold secrets. Only the line and column are kept.
 */
function jsonProblem(text: string, err: unknown): string {
  const position = /at position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  if (position === undefined) return 'is not valid JSON';
  const before = text.slice(0, Number(position)).split('\n');
  return `is not valid JSON (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
}

function setPath(target: Json, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Json;
  }
  node[keys[keys.length - 1] as string] = value;
}

function convert(raw: string, type: EnvType): unknown {
  // A comma-separated list, e.g. AMTFLOW_TRUSTED_PROXIES=10.0.0.5,10.1.0.0/16.
  if (type === 'list')
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  if (type === 'number') return raw.trim() === '' ? Number.NaN : Number(raw);
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}

export interface LoadOptions {
  /** Explicit file; otherwise AMTFLOW_CONFIG, otherwise ./amtflow.config.json when present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values applied over file and environment (tests use this to isolate state). */
  overrides?: Json;
  cwd?: string;
}

/**
 * Reads the configuration file, applies environment overrides, validates everything and resolves
 * relative paths against the working directory. Errors name keys and positions, never values from
 * the file. Over process.env it also withholds the secret variables from child processes (above).
 */
export function loadConfig(options: LoadOptions = {}): AmtflowConfig {
  const env = environment(options.env);
  const cwd = options.cwd ?? process.cwd();
  const file =
    options.file ??
    env.AMTFLOW_CONFIG ??
    (existsSync(path.join(cwd, 'amtflow.config.json')) ? 'amtflow.config.json' : undefined);

  let raw: Json = {};
  const origin = new Map<string, string>();
  if (file) {
    const full = path.resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (err) {
      throw new ConfigError([`${full}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
    try {
      raw = JSON.parse(text) as Json;
    } catch (err) {
      throw new ConfigError([`${full}: ${jsonProblem(text, err)}`]);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ConfigError([`${full}: must hold a JSON object`]);
    }
  }
  for (const [name, spec] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined) continue;
    setPath(raw, spec.path, convert(value, spec.type));
    origin.set(spec.path.join('.'), name);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(raw, key.split('.'), value);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path.join('.') || '(root)';
        const from = origin.get(key);
        return `${key}${from ? ` (from ${from})` : ''}: ${issue.message}`;
      }),
    );
  }
  const config = parsed.data;
  config.stateDir = path.resolve(cwd, config.stateDir);
  config.temporal.profilesFile = path.resolve(cwd, config.temporal.profilesFile);
  if (config.ca.dir) config.ca.dir = path.resolve(cwd, config.ca.dir);
  if (config.secrets.keyFile) config.secrets.keyFile = path.resolve(cwd, config.secrets.keyFile);
  return config;
}

/** Where the embedded database lives when no PostgreSQL URL is configured. */
export function pgliteDir(config: AmtflowConfig): string {
  return path.join(config.stateDir, 'db');
}

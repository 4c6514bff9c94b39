/**
 * The `amtflow` CLI's connection to the HTTP API (docs/api.md). Where it connects and with which
 * token, first found wins:
 *
 * - URL: `--url`, `AMTFLOW_API_URL`, `url` of the CLI configuration file, else
 *   `http://<listeners.host>:<listeners.apiPort>` of amtflow's own configuration (lib/config);
 * - token: `AMTFLOW_TOKEN`, `--token-file` / `AMTFLOW_TOKEN_FILE`, `token` or `tokenFile` of the CLI
 *   configuration file, else the first start's administrator token `<stateDir>/keys/api-operator.token`
 *   when this machine runs amtflow.
 *
 * The CLI configuration file is JSON `{ "url"?, "token"?, "tokenFile"? }` at `AMTFLOW_CLI_CONFIG`,
 * else `~/.config/amtflow/cli.json`. The token is sent as `Authorization: Bearer`, never printed.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../lib/config';

export interface ApiClientOptions {
  url?: string;
  tokenFile?: string;
}

export interface ApiClientSettings {
  url: string;
  token: string | undefined;
}

const cliFileSchema = z.strictObject({
  url: z.url().optional(),
  token: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
});

function readCliFile(env: NodeJS.ProcessEnv): z.infer<typeof cliFileSchema> {
  const file = env.AMTFLOW_CLI_CONFIG ?? path.join(os.homedir(), '.config', 'amtflow', 'cli.json');
  if (!existsSync(file)) {
    if (env.AMTFLOW_CLI_CONFIG) throw new Error(`AMTFLOW_CLI_CONFIG names ${file}, which does not exist`);
    return {};
  }
  const parsed = cliFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`CLI configuration ${file}: ${issues}`);
  }
  return parsed.data;
}

/** Where and as whom the CLI calls the API (see the module's comment for the order). */
export function clientSettings(
  options: ApiClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ApiClientSettings {
  const file = readCliFile(env);
  let config: ReturnType<typeof loadConfig> | undefined;
  const amtflowConfig = () => (config ??= loadConfig());
  const url =
    options.url ??
    env.AMTFLOW_API_URL ??
    file.url ??
    `http://${amtflowConfig().listeners.host}:${amtflowConfig().listeners.apiPort}`;
  const tokenFile = options.tokenFile ?? env.AMTFLOW_TOKEN_FILE ?? file.tokenFile;
  let token = env.AMTFLOW_TOKEN ?? (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : file.token);
  if (token === undefined) {
    const local = path.join(amtflowConfig().stateDir, 'keys', 'api-operator.token');
    if (existsSync(local)) token = readFileSync(local, 'utf8').trim();
  }
  return { url: url.replace(/\/+$/, ''), token };
}

/** The API's refusal: its HTTP status, stable code and message (with the fields at fault, if any). */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: ReadonlyArray<{ field: string; message: string }>,
  ) {
    super(message);
  }
}

/** A thin JSON client of /api/v1; every method throws ApiRequestError on a non-2xx answer. */
export class ApiClient {
  constructor(readonly settings: ApiClientSettings) {}

  /** The raw answer (for CSV and other non-JSON bodies). */
  async fetch(
    method: string,
    route: string,
    body?: unknown,
    accept = 'application/json',
    raw?: { body: string; type: string },
  ): Promise<Response> {
    let response: Response;
    const type = raw ? raw.type : body !== undefined ? 'application/json' : undefined;
    try {
      response = await fetch(`${this.settings.url}/api/v1${route}`, {
        method,
        headers: {
          accept,
          ...(this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {}),
          ...(type ? { 'content-type': type } : {}),
        },
        body: raw ? raw.body : body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw new ApiRequestError(
        0,
        'UNREACHABLE',
        `the amtflow API at ${this.settings.url} did not answer: ${(err as Error).message}`,
      );
    }
    if (!response.ok) {
      const text = await response.text();
      let answer: { code?: string; message?: string; issues?: Array<{ field: string; message: string }> } = {};
      try {
        answer = JSON.parse(text) as typeof answer;
      } catch {
        answer = { message: text.slice(0, 200) };
      }
      throw new ApiRequestError(
        response.status,
        answer.code ?? `HTTP_${response.status}`,
        answer.message ?? `HTTP ${response.status}`,
        answer.issues,
      );
    }
    return response;
  }

  async request<T>(method: string, route: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, route, body);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  get<T>(route: string): Promise<T> {
    return this.request<T>('GET', route);
  }
  post<T>(route: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', route, body);
  }
  put<T>(route: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', route, body);
  }
  patch<T>(route: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', route, body);
  }
  delete<T>(route: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', route, body);
  }
}

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
import http from 'node:http';
import https from 'node:https';
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

/** The API's refusal from its status and body: `{ code, message, issues? }`, or the text itself. */
function refusal(status: number, text: string): ApiRequestError {
  let answer: { code?: string; message?: string; issues?: Array<{ field: string; message: string }> } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    answer = { message: text.slice(0, 200) };
  }
  return new ApiRequestError(
    status,
    answer.code ?? `HTTP_${status}`,
    answer.message ?? `HTTP ${status}`,
    answer.issues,
  );
}

/**
 * A thin client of /api/v1: JSON calls, raw answers (CSV), and streams (console sessions). Every
 * method throws ApiRequestError on a non-2xx answer, and `UNREACHABLE` when the API does not answer.
 */
export class ApiClient {
  constructor(readonly settings: ApiClientSettings) {}

  private url(route: string): string {
    return `${this.settings.url}/api/v1${route}`;
  }

  private authorization(): Record<string, string> {
    return this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {};
  }

  private unreachable(err: unknown): ApiRequestError {
    return new ApiRequestError(
      0,
      'UNREACHABLE',
      `the amtflow API at ${this.settings.url} did not answer: ${(err as Error).message}`,
    );
  }

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
      response = await fetch(this.url(route), {
        method,
        headers: { accept, ...this.authorization(), ...(type ? { 'content-type': type } : {}) },
        body: raw ? raw.body : body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    if (!response.ok) throw refusal(response.status, await response.text());
    return response;
  }

  /**
   * A POST whose body and answer are streams (a console session): `send` writes the body while the
   * answer may already flow, which `fetch` cannot do both ways. Resolves once the answer's headers
   * arrived.
   */
  stream(
    route: string,
    headers: Record<string, string | number>,
    send: (req: http.ClientRequest) => void,
  ): Promise<http.IncomingMessage> {
    const target = new URL(this.url(route));
    const client = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(
        target,
        { method: 'POST', headers: { ...this.authorization(), ...headers } },
        (res) => {
          const status = res.statusCode ?? 500;
          if (status < 300) return resolve(res);
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => reject(refusal(status, text)));
        },
      );
      req.on('error', (err) => reject(this.unreachable(err)));
      send(req);
    });
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

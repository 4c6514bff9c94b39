import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { InvalidArgumentError, type Command } from 'commander';
import { parseDeviceUuid, type DeviceUuid } from '../../lib/device-uuid';

/**
 * `amtflow sol <uuid>` and `amtflow ider <uuid> --image file.iso` (spec OPS3), `amtflow power` and
 * `amtflow discover` (OPS1, OPS2): through the HTTP API (`AMTFLOW_API_URL`, default
 * http://127.0.0.1:8080; token `AMTFLOW_TOKEN`). The device's credentials stay in the front door:
 * the CLI only ever holds the operator's token. Sessions are streamed (docs/api.md); `--json` prints
 * the API's answers as they are. Exit status 1 on any failure.
 */

function deviceUuid(value: string): DeviceUuid {
  try {
    return parseDeviceUuid(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function api(): { url: URL; token: string } {
  const token = process.env.AMTFLOW_TOKEN;
  if (!token) throw new Error('AMTFLOW_TOKEN must hold the operator token (.state/keys/api-operator.token)');
  return { url: new URL(process.env.AMTFLOW_API_URL ?? 'http://127.0.0.1:8080'), token };
}

/** One request; resolves with the response once its headers arrived. A non-2xx answer rejects with the API's message. */
function request(
  method: string,
  route: string,
  headers: Record<string, string | number>,
  body?: (req: http.ClientRequest) => void,
): Promise<http.IncomingMessage> {
  const { url, token } = api();
  const target = new URL(`/api/v1${route}`, url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method, headers: { Authorization: `Bearer ${token}`, ...headers } }, (res) => {
      if ((res.statusCode ?? 500) < 300) return resolve(res);
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => {
        let message = text;
        try {
          const parsed = JSON.parse(text) as { code?: string; message?: string };
          message = `${parsed.code ?? res.statusCode}: ${parsed.message ?? text}`;
        } catch {
          // not JSON: the text as it is
        }
        reject(new Error(message));
      });
    });
    req.on('error', reject);
    if (body) body(req);
    else req.end();
  });
}

async function json(method: string, route: string, payload: unknown): Promise<unknown> {
  const body = JSON.stringify(payload);
  const res = await request(
    method,
    route,
    { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    (req) => req.end(body),
  );
  let text = '';
  for await (const chunk of res) text += (chunk as Buffer).toString('utf8');
  return JSON.parse(text);
}

const query = (o: { timeLimit?: string }) => (o.timeLimit ? `?timeLimitSeconds=${Number(o.timeLimit)}` : '');

export function registerConsoleCommands(program: Command): void {
  program
    .command('sol')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('serial over LAN: an interactive terminal on the device (Ctrl-] ends it)')
    .option('--time-limit <seconds>', 'end the session after this long (default: the front door’s limit)')
    .option('--json', 'print the session record when it ends')
    .action(async (uuid: DeviceUuid, o: { timeLimit?: string; json?: boolean }) => {
      const stdin = process.stdin;
      const res = await request(
        'POST',
        `/devices/${uuid}/sol${query(o)}`,
        { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' },
        (req) => {
          if (stdin.isTTY) stdin.setRawMode(true);
          stdin.on('data', (chunk: Buffer) => {
            // Ctrl-] ends the session, as in amtterm.
            if (chunk.includes(0x1d)) return req.end();
            req.write(chunk);
          });
          stdin.on('end', () => req.end());
          req.flushHeaders();
        },
      );
      const session = res.headers['x-amtflow-session'];
      if (!o.json && stdin.isTTY) process.stderr.write(`connected (session ${String(session)}); Ctrl-] ends it\r\n`);
      res.pipe(process.stdout, { end: false });
      await new Promise<void>((resolve) => res.on('end', resolve));
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      if (o.json) process.stdout.write(`${JSON.stringify({ session, ended: true })}\n`);
    });

  program
    .command('ider')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('IDE redirection: serve an image read-only to the device as a CD-ROM until Ctrl-C')
    .requiredOption('--image <file>', 'the image (ISO); uploaded to the front door for the session')
    .option('--time-limit <seconds>', 'end the session after this long')
    .option('--json', 'print the API’s JSON lines')
    .action(async (uuid: DeviceUuid, o: { image: string; timeLimit?: string; json?: boolean }) => {
      const { size } = await stat(o.image);
      const res = await request(
        'POST',
        `/devices/${uuid}/ider${query(o)}`,
        { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
        (req) => createReadStream(o.image).pipe(req),
      );
      const stop = () => res.destroy();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      res.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
          if (o.json) process.stdout.write(`${line}\n`);
          else {
            const event = JSON.parse(line) as { state: string; session?: string; outcome?: string };
            process.stdout.write(
              event.state === 'serving'
                ? `serving ${o.image} (session ${event.session}); Ctrl-C ends it\n`
                : `ended: ${event.outcome}\n`,
            );
          }
        }
      });
      await new Promise<void>((resolve) => res.on('close', resolve));
    });

  program
    .command('power')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .argument('<action>', 'on, off, off-graceful, cycle, reset, reset-graceful, sleep, hibernate or read')
    .description('power control of one device (OPS2)')
    .option('--json', 'print the result as JSON')
    .action(async (uuid: DeviceUuid, action: string, o: { json?: boolean }) => {
      const result = (await json('POST', `/devices/${uuid}/power`, { action })) as {
        outcome: string;
        state?: string;
        error?: string;
      };
      console.log(
        o.json
          ? JSON.stringify(result)
          : `${action}: ${result.outcome}${result.state ? ` (host ${result.state})` : ''}`,
      );
      if (result.outcome === 'failed') {
        if (!o.json) console.error(result.error);
        process.exitCode = 1;
      }
    });

  program
    .command('discover')
    .description('discover management controllers of a collection or an address range (OPS1)')
    .option('--collection <name>')
    .option('--range <first-last>', 'e.g. 10.0.0.1-10.0.0.254')
    .option('--json', 'print the answer as JSON')
    .action(async (o: { collection?: string; range?: string; json?: boolean }) => {
      if (!o.collection === !o.range) throw new Error('give exactly one of --collection and --range');
      const [first, last] = (o.range ?? '').split('-');
      const body = o.collection ? { collection: o.collection } : { first, last };
      const answer = (await json('POST', '/discovery', body)) as { workflowId: string };
      console.log(o.json ? JSON.stringify(answer) : `discovery started: ${answer.workflowId}`);
    });
}

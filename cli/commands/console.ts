/**
 * Console operations from the CLI (spec OPS1–OPS3), each through the HTTP API
 * (api/routes/console.ts): `amtflow sol <uuid>` (an interactive terminal; Ctrl-] ends it),
 * `amtflow ider <uuid> --image file.iso` (the image served read-only until Ctrl-C), `amtflow power
 * <uuid> <action>` and `amtflow discover`. The device's credentials stay in the front door: the
 * CLI only holds the operator's token. Sessions are streams (docs/api.md).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { DeviceUuid } from '../../lib/device-uuid';
import { ApiRequestError } from '../api-client';
import { deviceUuid, withContext } from '../context';

const limit = (o: { timeLimit?: string }) => (o.timeLimit ? `?timeLimitSeconds=${Number(o.timeLimit)}` : '');

interface PowerAnswer {
  outcome: string;
  state?: string;
  error?: string;
}

export function registerConsoleCommands(program: Command): void {
  program
    .command('sol')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('serial over LAN: an interactive terminal on the device (OPS3); Ctrl-] ends it')
    .option('--time-limit <seconds>', "end the session after this long (default: the front door's limit)")
    .action((uuid: DeviceUuid, o: { timeLimit?: string }, command: Command) =>
      withContext(command, async (c) => {
        const stdin = process.stdin;
        const res = await c.api.stream(
          `/devices/${uuid}/sol${limit(o)}`,
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
        const session = String(res.headers['x-amtflow-session']);
        if (stdin.isTTY) process.stderr.write(`connected (session ${session}); Ctrl-] ends it\r\n`);
        res.pipe(process.stdout, { end: false });
        await new Promise<void>((resolve) => res.on('end', resolve));
        if (stdin.isTTY) stdin.setRawMode(false);
        stdin.pause();
        if (c.json) process.stderr.write(`${JSON.stringify({ session, ended: true })}\n`);
      }),
    );

  program
    .command('ider')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('IDE redirection: serve an image read-only to the device as a CD-ROM until Ctrl-C (OPS3)')
    .requiredOption('--image <file>', 'the image (ISO); uploaded to the front door for the session')
    .option('--time-limit <seconds>', 'end the session after this long')
    .action((uuid: DeviceUuid, o: { image: string; timeLimit?: string }, command: Command) =>
      withContext(command, async (c) => {
        const { size } = await stat(o.image);
        const res = await c.api.stream(
          `/devices/${uuid}/ider${limit(o)}`,
          { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
          (req) => createReadStream(o.image).pipe(req),
        );
        const stop = () => res.destroy();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        res.on('data', (chunk: Buffer) => {
          for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
            const event = JSON.parse(line) as { state: string; session?: string; outcome?: string };
            c.print(event, (e) =>
              e.state === 'serving'
                ? `serving ${o.image} (session ${e.session}); Ctrl-C ends it`
                : `ended: ${e.outcome}`,
            );
          }
        });
        await new Promise<void>((resolve) => res.on('close', resolve));
      }),
    );

  program
    .command('power')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .argument('<action>', 'on, off, off-graceful, cycle, reset, reset-graceful, sleep, hibernate or read')
    .description('power control of one device (OPS2)')
    .action((uuid: DeviceUuid, action: string, _o: unknown, command: Command) =>
      withContext(command, async (c) => {
        const answer = await c.api.post<PowerAnswer>(`/devices/${uuid}/power`, { action });
        c.print(answer, (a) => `${action}: ${a.outcome}${a.state ? ` (host ${a.state})` : ''}`);
        if (answer.outcome === 'failed') throw new ApiRequestError(409, 'POWER_ACTION_FAILED', answer.error ?? action);
      }),
    );

  program
    .command('discover')
    .description('discover the management controllers of a collection or an address range (OPS1)')
    .option('--collection <name>')
    .option('--range <first-last>', 'e.g. 10.0.0.1-10.0.0.254')
    .action((o: { collection?: string; range?: string }, command: Command) =>
      withContext(command, async (c) => {
        if (!o.collection === !o.range) throw new Error('give exactly one of --collection and --range');
        const [first, last] = (o.range ?? '').split('-');
        const body = o.collection ? { collection: o.collection } : { first, last };
        c.print(
          await c.api.post<{ workflowId: string }>('/discovery', body),
          (a) => `discovery started: ${a.workflowId}`,
        );
      }),
    );
}

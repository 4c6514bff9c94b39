/**
 * The inventory from the CLI (issue 11 §2): `devices` (list and search), `show`, `import` (one
 * device, or `--csv <file>` with a result per row; exits 1 if any row failed), `break-glass`, and
 * `watch`, which follows a device's run step by step until it ends or waits for an operator.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import type { DeviceUuid } from '../../lib/device-uuid';
import type { Progress } from '../../workflows/messages';
import { ApiRequestError } from '../api-client';
import { deviceUuid, withContext } from '../context';
import { formatProgress } from '../progress';

interface DevicePage {
  devices: Array<{
    uuid: string;
    fqdn: string;
    collection: string | null;
    provisioningState: string;
    discoveryStatus: string;
    /** When discovery last set the status (OPS1), ISO 8601; null before any sweep reached it. */
    discoverySeenAt: string | null;
    amtVersion: string | null;
  }>;
  total: number;
  offset: number;
}

export function registerInventoryCommands(program: Command): void {
  program
    .command('devices')
    .description('list and search devices (only those of collections you may view)')
    .option('--collection <name>')
    .option('--state <provisioningState>')
    .option('--status <discoveryStatus>', 'the OPS1 status, e.g. provisioned, not_provisioned')
    .option('--amt-version <version>', 'a version or its prefix, e.g. 11')
    .option('--search <text>', 'text in the host name or domain')
    .option('--limit <n>', 'devices per page', '100')
    .option('--offset <n>', 'skip this many', '0')
    .action((o: Record<string, string | undefined>, command: Command) =>
      withContext(command, async (c) => {
        const query = new URLSearchParams();
        const set = (key: string, value?: string) => value !== undefined && query.set(key, value);
        set('collection', o.collection);
        set('provisioningState', o.state);
        set('discoveryStatus', o.status);
        set('amtVersion', o.amtVersion);
        set('q', o.search);
        set('limit', o.limit);
        set('offset', o.offset);
        c.print(await c.api.get<DevicePage>(`/devices?${query}`), (page) =>
          [
            ...page.devices.map((d) =>
              [
                d.uuid,
                d.fqdn.padEnd(32),
                (d.collection ?? '-').padEnd(16),
                d.provisioningState.padEnd(14),
                d.discoveryStatus.padEnd(22),
                (d.discoverySeenAt?.replace(/\.\d+Z$/, 'Z') ?? '-').padEnd(20),
                d.amtVersion ?? '-',
              ].join('  '),
            ),
            `${page.devices.length} of ${page.total} (from ${page.offset})`,
          ].join('\n'),
        );
      }),
    );

  program
    .command('show')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('one device: its state, last runs, certificates and credential versions')
    .action((uuid: DeviceUuid, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.get(`/devices/${uuid}`), (d) => JSON.stringify(d, null, 2)),
      ),
    );

  program
    .command('import')
    .description('import one device, or a CSV file (uuid,hostName,domain,collection) with a result per row')
    .option('--csv <file>', 'the CSV file ("-" for stdin)')
    .option('--uuid <uuid>')
    .option('--host-name <name>')
    .option('--domain <domain>')
    .option('--collection <name>')
    .action(
      (o: { csv?: string; uuid?: string; hostName?: string; domain?: string; collection?: string }, command: Command) =>
        withContext(command, async (c) => {
          if (!o.csv) {
            const device = await c.api.post(`/devices`, {
              uuid: o.uuid,
              hostName: o.hostName,
              domain: o.domain,
              ...(o.collection ? { collection: o.collection } : {}),
            });
            c.print(device, (d) => `imported ${(d as { fqdn: string }).fqdn}`);
            return;
          }
          const text = readFileSync(o.csv === '-' ? 0 : o.csv, 'utf8');
          const response = await c.api.fetch('POST', '/devices/import', undefined, 'application/json', {
            body: text,
            type: 'text/csv',
          });
          const result = (await response.json()) as {
            created: number;
            unchanged: number;
            failed: number;
            results: Array<{ line: number; uuid?: string; status: string; code?: string; message?: string }>;
          };
          c.print(result, (r) =>
            [
              ...r.results.map(
                (row) =>
                  `line ${row.line}: ${row.status}${row.uuid ? ` ${row.uuid}` : ''}${row.code ? ` ${row.code}: ${row.message}` : ''}`,
              ),
              `${r.created} created, ${r.unchanged} unchanged, ${r.failed} failed`,
            ].join('\n'),
          );
          if (result.failed > 0) process.exitCode = 1;
        }),
    );

  program
    .command('break-glass')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description("reveal the device's current AMT admin (or MEBx) password; audited with your reason, rate-limited")
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .addOption(new Option('--kind <kind>').choices(['amt_admin', 'mebx']).default('amt_admin'))
    .action((uuid: DeviceUuid, o: { reason: string; kind: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(
          await c.api.post<{ username: string | null; password: string }>(`/devices/${uuid}/break-glass`, o),
          (r) => `${r.username ?? 'admin'}\n${r.password}`,
        ),
      ),
    );

  program
    .command('watch')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description("follow the device's run step by step until it ends or waits for an operator")
    .option('--interval <ms>', 'how often to ask', '1000')
    .action((uuid: DeviceUuid, o: { interval: string }, command: Command) =>
      withContext(command, async (c) => {
        let last = '';
        for (;;) {
          let progress: Progress;
          try {
            progress = await c.api.get<Progress>(`/devices/${uuid}/progress`);
          } catch (err) {
            // The run may not be visible yet right after it was started.
            if (err instanceof ApiRequestError && err.code === 'NO_RUN' && last === '') {
              await sleep(Number(o.interval));
              continue;
            }
            throw err;
          }
          const text = c.json ? JSON.stringify(progress) : formatProgress(progress);
          if (text !== last) console.log(c.json ? text : `${new Date().toISOString()}\n${text}`);
          last = text;
          if (progress.awaiting || ['completed', 'failed', 'aborted'].includes(progress.state)) {
            if (progress.state !== 'completed') process.exitCode = 1;
            return;
          }
          await sleep(Number(o.interval));
        }
      }),
    );
}

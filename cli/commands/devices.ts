/**
 * A device's lifecycle from the CLI: import, provision, update, remove, forget, rename (and rename-complete),
 * progress and the operator's decision, each one call of the HTTP API (api/routes/devices.ts).
 */
import { Argument, Option, type Command } from 'commander';
import type { DeviceUuid } from '../../lib/device-uuid';
import type { Progress } from '../../workflows/messages';
import { deviceUuid, withContext } from '../context';
import { formatProgress } from '../progress';

const started = (answer: { workflowId: string }) => answer.workflowId;

export function registerDeviceCommands(program: Command): void {
  program
    .command('provision')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('provision a device (OOB/IB)')
    .addOption(new Option('--mode <mode>').choices(['out-of-band', 'in-band']).default('out-of-band'))
    .action((uuid: DeviceUuid, o: { mode: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.post<{ workflowId: string }>(`/devices/${uuid}/provision`, { mode: o.mode }), started),
      ),
    );

  program
    .command('update')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('re-apply the current settings to a provisioned device (UPD1–UPD4)')
    .action((uuid: DeviceUuid, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.post<{ workflowId: string }>(`/devices/${uuid}/update`, {}), started),
      ),
    );

  program
    .command('remove')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('remove provisioning information (DEP1–DEP3)')
    .addOption(new Option('--mode <mode>').choices(['partial', 'full']).makeOptionMandatory())
    .action((uuid: DeviceUuid, o: { mode: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.post<{ workflowId: string }>(`/devices/${uuid}/remove`, { mode: o.mode }), started),
      ),
    );

  program
    .command('forget')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description(
      'forget a device that is gone without reaching it: certificates revoked, directory object deleted, its records and secrets removed',
    )
    .addOption(
      new Option('--reason <reason>', 'stolen and lost revoke as key compromise')
        .choices(['scrapped', 'stolen', 'lost', 'replaced'])
        .makeOptionMandatory(),
    )
    .option('--note <text>', 'a ticket or an asset number, kept with the record')
    .action((uuid: DeviceUuid, o: { reason: string; note?: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.post<{ workflowId: string }>(`/devices/${uuid}/forget`, o), started),
      ),
    );

  program
    .command('rename')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('rename or move a device to another domain (REN1–REN3)')
    .requiredOption('--host-name <name>')
    .requiredOption('--domain <domain>')
    .addOption(new Option('--mode <mode>').choices(['out-of-band', 'in-band']).default('out-of-band'))
    .action((uuid: DeviceUuid, o: { hostName: string; domain: string; mode: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(
          await c.api.post<{ workflowId: string }>(`/devices/${uuid}/rename`, {
            hostName: o.hostName,
            domain: o.domain,
            mode: o.mode,
          }),
          started,
        ),
      ),
    );

  program
    .command('rename-complete')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description('tell a rename run that the rename or move has taken place (REN2)')
    .requiredOption('--host-name <name>')
    .requiredOption('--domain <domain>')
    .action((uuid: DeviceUuid, o: { hostName: string; domain: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(
          await c.api.post<{ workflowId: string }>(`/devices/${uuid}/rename-complete`, {
            hostName: o.hostName,
            domain: o.domain,
          }),
          () => undefined,
        ),
      ),
    );

  program
    .command('wired-8021x')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description(
      "answer an update's warning before 802.1X wired settings go to a device whose OS is not running (UPD4)",
    )
    .option('--apply', 'apply the new wired settings anyway')
    .option('--skip', 'keep the wired settings the device has')
    .option('--reason <text>')
    .action((uuid: DeviceUuid, o: { apply?: boolean; skip?: boolean; reason?: string }, command: Command) =>
      withContext(command, async (c) => {
        if (Boolean(o.apply) === Boolean(o.skip)) throw new Error('give either --apply or --skip');
        c.print(
          await c.api.post<{ signalled: boolean }>(`/devices/${uuid}/wired-8021x`, {
            apply: Boolean(o.apply),
            ...(o.reason ? { reason: o.reason } : {}),
          }),
          () => undefined,
        );
      }),
    );

  program
    .command('progress')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .description("show every step of the device's current or last run")
    .action((uuid: DeviceUuid, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.get<Progress>(`/devices/${uuid}/progress`), formatProgress),
      ),
    );

  program
    .command('decide')
    .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
    .addArgument(new Argument('<action>', 'retry, skip or abort').choices(['retry', 'skip', 'abort']))
    .description('decide a run waiting for an operator: retry, skip (where allowed) or abort')
    .option('--step <id>', 'the step the decision is for (refused if the run waits elsewhere)')
    .option('--reason <text>')
    .action((uuid: DeviceUuid, action: string, o: { step?: string; reason?: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.post<Progress>(`/devices/${uuid}/decision`, { action, ...o }), formatProgress),
      ),
    );
}

/**
 * `npm run cli -- <command>`: start lifecycle operations, watch their progress, and decide runs
 * that wait for an operator. Talks to Temporal only, so it works beside a running `npm start`.
 */
import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDeviceUuid, type DeviceUuid } from '../lib/device-uuid';
import { loadConfig } from '../lib/config';
import { operatorCommands, type OperatorCommands } from '../runtime/lifecycle-client';
import { connectClient } from '../runtime/temporal';
import { registerConsoleCommands } from './commands/console';
import { formatProgress } from './progress';

const program = new Command('amtflow').description('amtflow operator commands');
const operatorOption = new Option('--operator <name>', 'who is acting (recorded in the audit log)').default(
  os.userInfo().username,
);

/** The device argument, canonical; a value that is not a UUID stops here with its own message. */
function deviceUuid(value: string): DeviceUuid {
  try {
    return parseDeviceUuid(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

async function withCommands<T>(fn: (commands: OperatorCommands) => Promise<T>): Promise<T> {
  const { client, connection } = await connectClient(loadConfig());
  try {
    return await fn(operatorCommands(client));
  } finally {
    await connection.close();
  }
}

program
  .command('provision')
  .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
  .description('provision a device (OOB/IB)')
  .addOption(new Option('--mode <mode>').choices(['out-of-band', 'in-band']).default('out-of-band'))
  .addOption(operatorOption)
  .action((uuid: DeviceUuid, o: { mode: 'out-of-band' | 'in-band'; operator: string }) =>
    withCommands(async (c) => console.log(await c.provision(uuid, o.mode, o.operator))),
  );

program
  .command('update')
  .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
  .description('re-apply the current settings to a provisioned device (UPD1–UPD4)')
  .addOption(operatorOption)
  .action((uuid: DeviceUuid, o: { operator: string }) =>
    withCommands(async (c) => console.log(await c.update(uuid, o.operator))),
  );

program
  .command('remove')
  .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
  .description('remove provisioning information (DEP1–DEP3)')
  .addOption(new Option('--mode <mode>').choices(['partial', 'full']).makeOptionMandatory())
  .addOption(operatorOption)
  .action((uuid: DeviceUuid, o: { mode: 'partial' | 'full'; operator: string }) =>
    withCommands(async (c) => console.log(await c.remove(uuid, o.mode, o.operator))),
  );

program
  .command('rename')
  .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
  .description('rename or move a device to another domain (REN1–REN3)')
  .requiredOption('--host-name <name>')
  .requiredOption('--domain <domain>')
  .addOption(new Option('--mode <mode>').choices(['out-of-band', 'in-band']).default('out-of-band'))
  .addOption(operatorOption)
  .action(
    (uuid: DeviceUuid, o: { hostName: string; domain: string; mode: 'out-of-band' | 'in-band'; operator: string }) =>
      withCommands(async (c) =>
        console.log(await c.rename(uuid, { hostName: o.hostName, domain: o.domain, mode: o.mode }, o.operator)),
      ),
  );

program
  .command('rename-complete')
  .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
  .description('tell a rename run that the rename or move has taken place (REN2)')
  .requiredOption('--host-name <name>')
  .requiredOption('--domain <domain>')
  .addOption(operatorOption)
  .action((uuid: DeviceUuid, o: { hostName: string; domain: string; operator: string }) =>
    withCommands((c) => c.renameComplete(uuid, { hostName: o.hostName, domain: o.domain }, o.operator)),
  );

program
  .command('progress')
  .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
  .description("show every step of the device's current or last run")
  .option('--json', 'print the raw progress')
  .action((uuid: DeviceUuid, o: { json?: boolean }) =>
    withCommands(async (c) => {
      const progress = await c.progress(uuid);
      console.log(o.json ? JSON.stringify(progress, null, 2) : formatProgress(progress));
    }),
  );

program
  .command('decide')
  .argument('<uuid>', 'the device (SMBIOS UUID)', deviceUuid)
  .argument('<action>', 'retry, skip or abort')
  .description('decide a run waiting for an operator: retry, skip (where allowed) or abort')
  .option('--step <id>', 'the step the decision is for (refused if the run waits elsewhere)')
  .option('--reason <text>')
  .addOption(operatorOption)
  .action((uuid: DeviceUuid, action: string, o: { step?: string; reason?: string; operator: string }) =>
    withCommands(async (c) => {
      if (!['retry', 'skip', 'abort'].includes(action))
        throw new Error(`action must be retry, skip or abort, not ${action}`);
      console.log(
        formatProgress(await c.decide(uuid, action as 'retry', o.operator, { step: o.step, reason: o.reason })),
      );
    }),
  );

registerConsoleCommands(program);

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

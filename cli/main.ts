/**
 * `npm run cli -- <command>`: start lifecycle operations, watch their progress, and decide runs
 * that wait for an operator. Talks to Temporal only, so it works beside a running `npm start`.
 */
import os from 'node:os';
import { Command, Option } from 'commander';
import { loadConfig } from '../lib/config';
import { connectClient } from '../runtime/temporal';
import { formatProgress, operatorCommands } from './commands';

const program = new Command('amtflow').description('amtflow operator commands');
const operatorOption = new Option('--operator <name>', 'who is acting (recorded in the audit log)').default(
  os.userInfo().username,
);

async function withCommands<T>(fn: (commands: ReturnType<typeof operatorCommands>) => Promise<T>): Promise<T> {
  const { client, connection } = await connectClient(loadConfig());
  try {
    return await fn(operatorCommands(client));
  } finally {
    await connection.close();
  }
}

program
  .command('provision <uuid>')
  .description('provision a device (OOB/IB)')
  .addOption(new Option('--mode <mode>').choices(['out-of-band', 'in-band']).default('out-of-band'))
  .addOption(operatorOption)
  .action((uuid: string, o: { mode: 'out-of-band' | 'in-band'; operator: string }) =>
    withCommands(async (c) => console.log(await c.provision(uuid, o.mode, o.operator))),
  );

program
  .command('update <uuid>')
  .description('re-apply the current settings to a provisioned device (UPD1–UPD4)')
  .addOption(operatorOption)
  .action((uuid: string, o: { operator: string }) =>
    withCommands(async (c) => console.log(await c.update(uuid, o.operator))),
  );

program
  .command('remove <uuid>')
  .description('remove provisioning information (DEP1–DEP3)')
  .addOption(new Option('--mode <mode>').choices(['partial', 'full']).makeOptionMandatory())
  .addOption(operatorOption)
  .action((uuid: string, o: { mode: 'partial' | 'full'; operator: string }) =>
    withCommands(async (c) => console.log(await c.remove(uuid, o.mode, o.operator))),
  );

program
  .command('rename <uuid>')
  .description('rename or move a device to another domain (REN1–REN3)')
  .requiredOption('--host-name <name>')
  .requiredOption('--domain <domain>')
  .addOption(new Option('--mode <mode>').choices(['out-of-band', 'in-band']).default('out-of-band'))
  .addOption(operatorOption)
  .action((uuid: string, o: { hostName: string; domain: string; mode: 'out-of-band' | 'in-band'; operator: string }) =>
    withCommands(async (c) =>
      console.log(await c.rename(uuid, { hostName: o.hostName, domain: o.domain, mode: o.mode }, o.operator)),
    ),
  );

program
  .command('rename-complete <uuid>')
  .description('tell a rename run that the rename or move has taken place (REN2)')
  .requiredOption('--host-name <name>')
  .requiredOption('--domain <domain>')
  .addOption(operatorOption)
  .action((uuid: string, o: { hostName: string; domain: string; operator: string }) =>
    withCommands((c) => c.renameComplete(uuid, { hostName: o.hostName, domain: o.domain }, o.operator)),
  );

program
  .command('progress <uuid>')
  .description("show every step of the device's current or last run")
  .option('--json', 'print the raw progress')
  .action((uuid: string, o: { json?: boolean }) =>
    withCommands(async (c) => {
      const progress = await c.progress(uuid);
      console.log(o.json ? JSON.stringify(progress, null, 2) : formatProgress(progress));
    }),
  );

program
  .command('decide <uuid> <action>')
  .description('decide a run waiting for an operator: retry, skip (where allowed) or abort')
  .option('--step <id>', 'the step the decision is for (refused if the run waits elsewhere)')
  .option('--reason <text>')
  .addOption(operatorOption)
  .action((uuid: string, action: string, o: { step?: string; reason?: string; operator: string }) =>
    withCommands(async (c) => {
      if (!['retry', 'skip', 'abort'].includes(action))
        throw new Error(`action must be retry, skip or abort, not ${action}`);
      console.log(
        formatProgress(await c.decide(uuid, action as 'retry', o.operator, { step: o.step, reason: o.reason })),
      );
    }),
  );

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

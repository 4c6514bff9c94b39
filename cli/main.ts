/**
 * `amtflow` (package.json `bin`; `npm run cli -- …` in a checkout): the operator's commands, each a
 * call of the HTTP API (cli/api-client.ts says where and with which token), one module per topic
 * under cli/commands/. `--json` prints the API's answer; a failure exits 1.
 */
import { Command } from 'commander';
import { registerConsoleCommands } from './commands/console';
import { registerCollectionActionCommands } from './commands/collection-actions';
import { registerDeviceCommands } from './commands/devices';
import { registerScheduleCommands } from './commands/schedules';
import { registerAdminCommands } from './commands/admin';
import { registerInventoryCommands } from './commands/inventory';
import { registerProvisioningCommands } from './commands/provisioning';
import { describeFailure } from './context';

const program = new Command('amtflow')
  .description('amtflow operator commands (Intel AMT provisioning as durable workflows)')
  .option('--json', 'print the answer as JSON')
  .option('--url <url>', 'the amtflow API (default: AMTFLOW_API_URL, the CLI configuration file, amtflow.config.json)')
  .option(
    '--token-file <path>',
    'read the API token from this file (default: AMTFLOW_TOKEN, the CLI configuration file)',
  )
  .showHelpAfterError();

registerDeviceCommands(program);
registerConsoleCommands(program);
registerCollectionActionCommands(program);
registerScheduleCommands(program);
registerInventoryCommands(program);
registerAdminCommands(program);
registerProvisioningCommands(program);

program.parseAsync().catch((err: unknown) => {
  console.error(describeFailure(err, Boolean(program.opts<{ json?: boolean }>().json)));
  process.exit(1);
});

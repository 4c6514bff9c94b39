/**
 * Reports (OPS4), collections, profiles, principals and tokens from the CLI, each one call of the
 * HTTP API (api/routes/reports.ts, collections.ts, principals.ts).
 */
import { readFileSync } from 'node:fs';
import { Argument, Option, type Command } from 'commander';
import { withContext } from '../context';

const asJson = (value: unknown) => JSON.stringify(value, null, 2);

/**
 * The commands every named resource of the API shares: `list`, `show <name>` and, where the API
 * deletes it, `delete <name>`. Returns the group, for the resource's own commands.
 */
function resourceCommands(
  program: Command,
  group: string,
  description: string,
  routes: { list: string; one: (name: string) => string; deletable: boolean },
): Command {
  const resource = program.command(group).description(description);
  resource
    .command('list')
    .action((_o: unknown, command: Command) =>
      withContext(command, async (c) => c.print(await c.api.get(routes.list), asJson)),
    );
  resource
    .command('show')
    .argument('<name>')
    .action((name: string, _o: unknown, command: Command) =>
      withContext(command, async (c) => c.print(await c.api.get(routes.one(name)), asJson)),
    );
  if (routes.deletable)
    resource
      .command('delete')
      .argument('<name>')
      .action((name: string, _o: unknown, command: Command) =>
        withContext(command, async (c) => c.print(await c.api.delete(routes.one(name)), () => `deleted ${name}`)),
      );
  return resource;
}

export function registerAdminCommands(program: Command): void {
  program
    .command('reports')
    .addArgument(new Argument('<report>').choices(['devices', 'runs', 'certificates', 'audit']))
    .description(
      'OPS4 reports: devices by status, collection and AMT version; runs by step; certificates expiring; the audit log (P7)',
    )
    .addOption(new Option('--format <format>').choices(['json', 'csv']).default('json'))
    .option(
      '--days <n>',
      'the period (runs: last N days, default 30; certificates: expiring within N days, default 42)',
    )
    .option('--target <target>', 'audit: entries about this target (a device UUID, source:<address>, …)')
    .option('--actor <name>', 'audit: entries by this principal')
    .option('--limit <n>', 'audit: at most this many entries, newest first (default 100)')
    .action(
      (
        report: string,
        o: { format: string; days?: string; target?: string; actor?: string; limit?: string },
        command: Command,
      ) =>
        withContext(command, async (c) => {
          const query = new URLSearchParams({
            format: c.json ? 'json' : o.format,
            ...(o.days ? { days: o.days } : {}),
            ...(o.target ? { target: o.target } : {}),
            ...(o.actor ? { actor: o.actor } : {}),
            ...(o.limit ? { limit: o.limit } : {}),
          });
          const response = await c.api.fetch(
            'GET',
            `/reports/${report}?${query}`,
            undefined,
            o.format === 'csv' ? 'text/csv' : 'application/json',
          );
          process.stdout.write(await response.text());
          if (!c.json && o.format !== 'csv') process.stdout.write('\n');
        }),
    );

  const collections = resourceCommands(program, 'collections', 'collections of devices', {
    list: '/collections',
    one: (name) => `/collections/${encodeURIComponent(name)}`,
    deletable: true,
  });
  collections
    .command('set')
    .argument('<name>')
    .option('--automatic-provisioning', 'devices provision by themselves when their hello arrives')
    .option('--profile <name>', 'the AMT settings profile')
    .action((name: string, o: { automaticProvisioning?: boolean; profile?: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(
          await c.api.put(`/collections/${encodeURIComponent(name)}`, {
            automaticProvisioning: Boolean(o.automaticProvisioning),
            settingsProfile: o.profile ?? null,
          }),
          asJson,
        ),
      ),
    );

  const profiles = resourceCommands(program, 'profiles', 'AMT settings profiles', {
    list: '/profiles',
    one: (name) => `/profiles/${encodeURIComponent(name)}`,
    deletable: true,
  });
  profiles
    .command('set')
    .argument('<name>')
    .requiredOption('--file <settings.json>', 'the AMT settings as JSON')
    .description('create or replace a profile; prints the provisioned devices that now need an update (UPD1)')
    .action((name: string, o: { file: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(
          await c.api.put(`/profiles/${encodeURIComponent(name)}`, JSON.parse(readFileSync(o.file, 'utf8'))),
          asJson,
        ),
      ),
    );

  const principals = resourceCommands(
    program,
    'principals',
    'principals, their roles per collection and their tokens (administrator on *)',
    { list: '/principals', one: (name) => `/principals/${encodeURIComponent(name)}`, deletable: false },
  );
  principals
    .command('disable')
    .argument('<name>')
    .description('disable a principal: its tokens stop working at once')
    .action((name: string, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.post(`/principals/${encodeURIComponent(name)}/disable`), asJson),
      ),
    );
  principals
    .command('create')
    .argument('<name>')
    .addOption(new Option('--kind <kind>').choices(['user', 'service']).default('user'))
    .action((name: string, o: { kind: string }, command: Command) =>
      withContext(command, async (c) => c.print(await c.api.post('/principals', { name, kind: o.kind }), asJson)),
    );
  principals
    .command('grant')
    .argument('<name>')
    .addArgument(new Argument('<role>').choices(['view', 'manage', 'administrator']))
    .argument('<collection>', 'a collection, or * for every collection and the site')
    .action((name: string, role: string, collection: string, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.put(`/principals/${encodeURIComponent(name)}/roles`, { collection, role }), asJson),
      ),
    );
  principals
    .command('token')
    .argument('<name>')
    .option('--label <text>', 'what the token is for', '')
    .description('issue a token; its value is printed once')
    .action((name: string, o: { label: string }, command: Command) =>
      withContext(command, async (c) =>
        c.print(
          await c.api.post<{ id: string; token: string }>(`/principals/${encodeURIComponent(name)}/tokens`, {
            label: o.label,
          }),
          (t) => `token ${t.id}: ${t.token}`,
        ),
      ),
    );
  principals
    .command('revoke-token')
    .argument('<id>')
    .action((id: string, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.delete(`/tokens/${encodeURIComponent(id)}`), () => `revoked token ${id}`),
      ),
    );
}

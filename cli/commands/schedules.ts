/**
 * amtflow's Temporal Schedules from the CLI (issue 11 §4): list, pause, resume, trigger, sync; an
 * operator's console schedules (OPS1, OPS2): `schedules power`, `schedules discovery`, `schedules
 * delete`. Each is one call of the HTTP API (api/routes/schedules.ts, api/routes/console.ts). The
 * Temporal Web UI shows the same schedules.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { ScheduleSync, ScheduleView } from '../../runtime/schedules';
import { withContext } from '../context';

const wholeNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};

interface WhenOptions {
  at?: string;
  every?: string;
  cron?: string;
  name?: string;
}

/** `--at`, `--every`, `--cron` and `--name` of a console schedule, as the API takes them. */
function withWhen(command: Command): Command {
  return command
    .option('--at <time>', 'once, at this time (ISO 8601, e.g. 2026-12-24T02:00:00Z)')
    .option('--every <duration>', 'every interval, e.g. "1 day"')
    .option('--cron <expression>', 'on a cron expression (UTC), e.g. "0 2 * * *"')
    .option('--name <name>', "the schedule's name in its id (a-z, 0-9); default a random one");
}
const when = (o: WhenOptions) => ({
  ...(o.at ? { at: o.at } : {}),
  ...(o.every ? { every: o.every } : {}),
  ...(o.cron ? { cron: o.cron } : {}),
  ...(o.name ? { name: o.name } : {}),
});

const line = (s: ScheduleView) =>
  `${s.scheduleId}  ${s.paused ? 'paused ' : 'active '} next ${s.nextRuns[0] ?? '-'}${s.note ? `  (${s.note})` : ''}`;

export function registerScheduleCommands(program: Command): void {
  const schedules = program.command('schedules').description("amtflow's Temporal Schedules (issue 11 §4)");

  schedules
    .command('list')
    .description('every schedule: paused or not, next run, what it does')
    .action((_o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.get<ScheduleView[]>('/schedules'), (all) => all.map(line).join('\n')),
      ),
    );

  for (const verb of ['pause', 'unpause'] as const) {
    schedules
      .command(verb)
      .argument('<scheduleId>')
      .option('--reason <text>')
      .description(verb === 'pause' ? 'pause a schedule (its runs in flight carry on)' : 'resume a paused schedule')
      .action((scheduleId: string, o: { reason?: string }, command: Command) =>
        withContext(command, async (c) =>
          c.print(await c.api.post<ScheduleView>(`/schedules/${scheduleId}/${verb}`, o), line),
        ),
      );
  }

  schedules
    .command('trigger')
    .argument('<scheduleId>')
    .description('run a schedule now')
    .action((scheduleId: string, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(
          await c.api.post<{ triggered: string }>(`/schedules/${scheduleId}/trigger`, {}),
          (a) => `triggered ${a.triggered}`,
        ),
      ),
    );

  withWhen(
    schedules
      .command('power')
      .argument('<collection>')
      .argument('<action>', 'on, off, off-graceful, cycle, reset, reset-graceful, sleep or hibernate')
      .description("a scheduled power action of a collection's devices (OPS2), e.g. a maintenance window's power-on"),
  )
    .option('--concurrency <n>', 'devices at a time (default 10)', wholeNumber)
    .option('--retries <n>', 'retries of a device that refuses (default 3)', wholeNumber)
    .option('--retry-delay <seconds>', 'between them (default 120)', wholeNumber)
    .action(
      (
        collection: string,
        action: string,
        o: WhenOptions & { concurrency?: number; retries?: number; retryDelay?: number },
        command: Command,
      ) =>
        withContext(command, async (c) =>
          c.print(
            await c.api.post<ScheduleView>(`/collections/${encodeURIComponent(collection)}/power/schedules`, {
              action,
              ...when(o),
              ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
              ...(o.retries !== undefined ? { retries: o.retries } : {}),
              ...(o.retryDelay !== undefined ? { retryDelaySeconds: o.retryDelay } : {}),
            }),
            line,
          ),
        ),
    );

  withWhen(
    schedules
      .command('discovery')
      .description('a scheduled discovery of a collection or an address range (OPS1)')
      .option('--collection <name>')
      .option('--range <first-last>', 'e.g. 10.0.0.1-10.0.0.254'),
  )
    .option('--concurrency <n>', 'probes at a time (default 16)', wholeNumber)
    .option('--probe-timeout <ms>', "each port's probe deadline (default 5000)", wholeNumber)
    .action(
      (
        o: WhenOptions & { collection?: string; range?: string; concurrency?: number; probeTimeout?: number },
        command: Command,
      ) =>
        withContext(command, async (c) => {
          if (!o.collection === !o.range) throw new Error('give exactly one of --collection and --range');
          const [first, last] = (o.range ?? '').split('-');
          c.print(
            await c.api.post<ScheduleView>('/discovery/schedules', {
              ...(o.collection ? { collection: o.collection } : { first, last }),
              ...when(o),
              ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
              ...(o.probeTimeout !== undefined ? { probeTimeoutMs: o.probeTimeout } : {}),
            }),
            line,
          );
        }),
    );

  schedules
    .command('delete')
    .argument('<scheduleId>')
    .description('delete a console schedule (power or discovery); the others follow the configuration')
    .action((scheduleId: string, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.delete<{ deleted: string }>(`/schedules/${scheduleId}`), (a) => `deleted ${a.deleted}`),
      ),
    );

  schedules
    .command('sync')
    .description('create, update or delete schedules to match the collections and the configuration')
    .action((_o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.post<ScheduleSync>('/schedules/sync', {}), (s) =>
          [
            `created: ${s.created.join(', ') || '-'}`,
            `updated: ${s.updated.join(', ') || '-'}`,
            `deleted: ${s.deleted.join(', ') || '-'}`,
          ].join('\n'),
        ),
      ),
    );
}

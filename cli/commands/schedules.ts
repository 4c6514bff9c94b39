/**
 * amtflow's Temporal Schedules from the CLI (issue 11 §4): list, pause, resume, trigger, sync; each
 * one call of the HTTP API (api/routes/schedules.ts). The Temporal Web UI shows the same schedules.
 */
import type { Command } from 'commander';
import type { ScheduleSync, ScheduleView } from '../../runtime/schedules';
import { withContext } from '../context';

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

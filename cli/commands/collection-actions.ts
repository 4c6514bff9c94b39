/**
 * Collection actions from the CLI (issue 11 §3): start one over a collection or a filtered set,
 * follow it with a progress bar (`--wait`), show its progress and per-device results; each one call
 * of the HTTP API (api/routes/collection-actions.ts).
 */
import { SingleBar } from 'cli-progress';
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import type { ActionResult } from '../../lib/store';
import type { ApiClient } from '../api-client';
import { ACTION_RESULT_STATUSES, PROVISIONING_STATES } from '../../lib/store/vocabulary';
import { COLLECTION_ACTION_KINDS, type CollectionActionProgress } from '../../workflows/collection-action-messages';
import { deviceUuid, withContext } from '../context';

interface StartOptions {
  collection?: string;
  device?: string[];
  state?: string[];
  removalMode?: string;
  maxConcurrent?: number;
  batchDelay?: string;
  wait?: boolean;
}

const positiveInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
};
const collect =
  <T>(parse: (v: string) => T) =>
  (value: string, previous: T[] = []) => [...previous, parse(value)];

export function formatActionProgress(p: CollectionActionProgress): string {
  const c = p.counts;
  return [
    `${p.kind} (${p.actionId}): ${p.state}, ${p.handled} of ${p.total} devices, ${p.batches} batches`,
    `  succeeded ${c.succeeded}, busy ${c.busy}, refused ${c.refused}, failed ${c.failed}, ` +
      `waiting for an operator ${c.waiting}, in flight ${c.started}`,
  ].join('\n');
}

function formatResults(answer: { results: ActionResult[] }): string {
  return answer.results
    .map((r) => `${r.device}  ${r.status.padEnd(9)}${r.errorCode ? ` ${r.errorCode}: ${r.errorMessage ?? ''}` : ''}`)
    .join('\n');
}

/** Polls the action until it completes, drawing a progress bar on stderr unless `quiet`. */
async function follow(api: ApiClient, actionId: string, quiet: boolean): Promise<CollectionActionProgress> {
  const bar = quiet
    ? undefined
    : new SingleBar({
        format:
          '{bar} {value}/{total} devices | succeeded {succeeded} busy {busy} refused {refused} failed {failed} waiting {waiting}',
        stream: process.stderr,
        hideCursor: true,
      });
  let started = false;
  for (;;) {
    const progress = await api.get<CollectionActionProgress>(`/collection-actions/${actionId}`);
    const payload = { ...progress.counts };
    if (bar && !started) {
      bar.start(progress.total, progress.handled, payload);
      started = true;
    }
    bar?.setTotal(progress.total);
    bar?.update(progress.handled, payload);
    if (progress.state === 'completed') {
      bar?.stop();
      return progress;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export function registerCollectionActionCommands(program: Command): void {
  const action = program.command('collection-action').description('collection-wide work, throttled (issue 11 §3)');

  action
    .command('start')
    .addArgument(new Argument('<kind>', 'what to do to each device').choices([...COLLECTION_ACTION_KINDS]))
    .description('start an action over a collection or a filtered set of devices')
    .option('--collection <name>', 'the devices of this collection')
    .option('--device <uuid>', 'only this device (repeatable)', collect(deviceUuid))
    .addOption(
      new Option('--state <state>', 'only devices in this provisioning state (repeatable)').choices([
        ...PROVISIONING_STATES,
      ]),
    )
    .addOption(new Option('--removal-mode <mode>', 'with kind remove: DEP1 option').choices(['partial', 'full']))
    .option('--max-concurrent <n>', 'at most this many devices at a time', positiveInteger)
    .option('--batch-delay <duration>', 'pause between batches, e.g. "5 seconds"')
    .option(
      '--wait',
      'follow the action to its end with a progress bar; exit 1 if a device failed or waits for an operator',
    )
    .action((kind: string, o: StartOptions, command: Command) =>
      withContext(command, async (c) => {
        const states = o.state ? (Array.isArray(o.state) ? o.state : [o.state]) : undefined;
        const { actionId } = await c.api.post<{ actionId: string }>('/collection-actions', {
          kind,
          ...(o.collection ? { collection: o.collection } : {}),
          ...(o.device || states
            ? {
                filter: {
                  ...(o.device ? { deviceUuids: o.device } : {}),
                  ...(states ? { provisioningStates: states } : {}),
                },
              }
            : {}),
          ...(o.removalMode ? { removalMode: o.removalMode } : {}),
          ...(o.maxConcurrent ? { maxConcurrent: o.maxConcurrent } : {}),
          ...(o.batchDelay ? { batchDelay: o.batchDelay } : {}),
        });
        if (!o.wait) {
          c.print({ actionId }, (a) => a.actionId);
          return;
        }
        const progress = await follow(c.api, actionId, c.json);
        c.print(progress, formatActionProgress);
        // A device waiting for an operator is not done either: the caller has a decision to make.
        if (progress.counts.failed > 0 || progress.counts.waiting > 0) process.exitCode = 1;
      }),
    );

  action
    .command('show')
    .argument('<actionId>')
    .description("an action's progress: devices handled, per status")
    .action((actionId: string, _o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.get<CollectionActionProgress>(`/collection-actions/${actionId}`), formatActionProgress),
      ),
    );

  action
    .command('results')
    .argument('<actionId>')
    .description("an action's per-device results (started, busy, refused, succeeded, failed, waiting)")
    .addOption(new Option('--status <status>').choices([...ACTION_RESULT_STATUSES]))
    .option('--after <uuid>', 'the page after this device', deviceUuid)
    .option('--limit <n>', 'devices per page (at most 1000)', positiveInteger)
    .action((actionId: string, o: { status?: string; after?: string; limit?: number }, command: Command) =>
      withContext(command, async (c) => {
        const query = new URLSearchParams(
          Object.entries(o).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])),
        ).toString();
        c.print(
          await c.api.get<{ results: ActionResult[] }>(
            `/collection-actions/${actionId}/results${query ? `?${query}` : ''}`,
          ),
          formatResults,
        );
      }),
    );
}

/**
 * What a closed provisioning run's Temporal history says about its time: when it started, when a
 * worker first took it up, when it closed, and where inside that span it waited longest — the
 * evidence the report gives for its slowest devices (a long tail is a wait, and the two events
 * around the wait say on what).
 */
import { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const { EventType, TimeoutType, TaskQueueKind } = temporal.api.enums.v1;

export interface RunSpan {
  /** WorkflowExecutionStarted, ms since the epoch. */
  start: number;
  /** The first WorkflowTaskStarted: until then the run waited on the task queue for a worker. */
  taken: number;
  /** WorkflowExecutionCompleted. */
  end: number;
  events: number;
  /** The longest time between two consecutive events from `taken` on, and which two. */
  longestGap: { ms: number; transition: string };
  /**
   * Workflow tasks scheduled on a worker's sticky queue that waited there past its schedule-to-start
   * timeout: the server then put them on the shared task queue, behind every run not yet taken up.
   */
  stickyTimeouts: number;
  /**
   * Workflow tasks a worker took and did not complete in the workflow task timeout (start-to-close):
   * retried on the shared task queue, like the above.
   */
  startedTimeouts: number;
}

/** `EVENT_TYPE_WORKFLOW_TASK_STARTED` → `WorkflowTaskStarted`. */
function eventName(e: HistoryEvent): string {
  const name = EventType[e.eventType ?? 0] ?? `event ${e.eventType}`;
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

const QUEUE_KIND: Partial<Record<number, string>> = {
  [TaskQueueKind.TASK_QUEUE_KIND_STICKY]: 'sticky',
  [TaskQueueKind.TASK_QUEUE_KIND_NORMAL]: 'shared',
};

/**
 * Names a scheduled workflow task by the queue it was scheduled on: the worker's sticky queue or the
 * shared one. The event keeps the queue it was scheduled on: a task the server diverted to the shared
 * queue because the sticky one had no poller still reads `sticky`.
 */
function describe(e: HistoryEvent): string {
  const attributes = e.workflowTaskScheduledEventAttributes;
  if (!attributes) return eventName(e);
  return `${eventName(e)} (${QUEUE_KIND[attributes.taskQueue?.kind ?? 0] ?? 'unknown'} queue)`;
}

/**
 * The span of a closed run from its history. Throws when the run has not completed (a bench run
 * measures only provisioned devices).
 */
export function runSpan(uuid: string, history: temporal.api.history.v1.IHistory): RunSpan {
  const events = history.events ?? [];
  const time = (e: HistoryEvent | undefined) => tsToMs(e?.eventTime);
  const closed = events.at(-1);
  if (!closed?.workflowExecutionCompletedEventAttributes)
    throw new Error(`${uuid}: its run has not completed (last event ${closed ? eventName(closed) : 'none'})`);
  const takenAt = events.findIndex((e) => e.workflowTaskStartedEventAttributes);
  if (takenAt < 0) throw new Error(`${uuid}: its history has no workflow task started`);
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  const timeouts = (type: temporal.api.enums.v1.TimeoutType) =>
    events.filter((e) => e.workflowTaskTimedOutEventAttributes?.timeoutType === type);
  let longestGap = { ms: 0, transition: 'none' };
  for (let i = takenAt + 1; i < events.length; i++) {
    const ms = time(events[i]) - time(events[i - 1]);
    if (ms > longestGap.ms) longestGap = { ms, transition: `${describe(events[i - 1]!)} → ${eventName(events[i]!)}` };
  }
  return {
    start: time(events[0]),
    taken: time(events[takenAt]),
    end: time(closed),
    events: events.length,
    longestGap,
    stickyTimeouts: timeouts(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START).filter(
      (e) =>
        byId.get(String(e.workflowTaskTimedOutEventAttributes?.scheduledEventId))?.workflowTaskScheduledEventAttributes
          ?.taskQueue?.kind === TaskQueueKind.TASK_QUEUE_KIND_STICKY,
    ).length,
    startedTimeouts: timeouts(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE).length,
  };
}

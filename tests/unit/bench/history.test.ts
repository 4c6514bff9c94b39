import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { runSpan } from '../../../bench/history';

const { EventType: T, TaskQueueKind, TimeoutType } = temporal.api.enums.v1;
type Event = temporal.api.history.v1.IHistoryEvent;
/** An event as the server's JSON gives it: ids as plain numbers (HistoryEvent.fromObject makes them Longs). */
type Fields = Record<string, unknown>;

const at = (s: number): Event['eventTime'] => msToTs((1_800_000_000 + s) * 1000);
const event = (s: number, eventType: temporal.api.enums.v1.EventType, extra: Fields = {}): Fields => ({
  eventTime: at(s),
  eventType,
  ...extra,
});
const history = (events: Fields[]) =>
  temporal.api.history.v1.History.fromObject({ events: events.map((e, i) => ({ ...e, eventId: i + 1 })) });
const scheduled = (s: number, kind: temporal.api.enums.v1.TaskQueueKind) =>
  event(s, T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, { workflowTaskScheduledEventAttributes: { taskQueue: { kind } } });
const started = (s: number) => event(s, T.EVENT_TYPE_WORKFLOW_TASK_STARTED, { workflowTaskStartedEventAttributes: {} });
const timedOut = (s: number, scheduledEventId: number, timeoutType: temporal.api.enums.v1.TimeoutType) =>
  event(s, T.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
    workflowTaskTimedOutEventAttributes: { scheduledEventId, timeoutType },
  });

describe('a run’s span from its history', () => {
  it('finds the wait for a worker, the longest wait after it, and the tasks that timed out, telling a sticky timeout from another', () => {
    const events = [
      event(0, T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, { workflowExecutionStartedEventAttributes: {} }),
      scheduled(0, TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
      started(40),
      timedOut(50, 2, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE),
      scheduled(50, TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
      started(51),
      event(52, T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, { activityTaskCompletedEventAttributes: {} }),
      scheduled(52, TaskQueueKind.TASK_QUEUE_KIND_STICKY),
      timedOut(62, 8, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START),
      scheduled(62, TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
      // A speculative task (an update's) timed out on the shared queue: not a sticky timeout.
      timedOut(63, 10, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START),
      scheduled(63, TaskQueueKind.TASK_QUEUE_KIND_UNSPECIFIED),
      started(363),
      event(370, T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, { workflowExecutionCompletedEventAttributes: {} }),
    ];
    expect(runSpan('u1', history(events))).toEqual({
      start: 1_800_000_000_000,
      taken: 1_800_000_040_000,
      end: 1_800_000_370_000,
      events: 14,
      longestGap: { ms: 300_000, transition: 'WorkflowTaskScheduled (unknown queue) → WorkflowTaskStarted' },
      stickyTimeouts: 1,
      startedTimeouts: 1,
    });
  });

  it('refuses a run that has not completed, naming its last event', () => {
    expect(() =>
      runSpan(
        'u2',
        history([event(0, T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), started(1), event(5, T.EVENT_TYPE_TIMER_STARTED)]),
      ),
    ).toThrow('u2: its run has not completed (last event TimerStarted)');
  });
});

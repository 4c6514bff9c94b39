import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { runSpan } from '../../../bench/history';

const { EventType: T, TaskQueueKind, TimeoutType } = temporal.api.enums.v1;
type Event = temporal.api.history.v1.IHistoryEvent;

const at = (s: number): Event['eventTime'] => msToTs((1_800_000_000 + s) * 1000);
const event = (s: number, eventType: temporal.api.enums.v1.EventType, extra: Event = {}): Event => ({
  eventTime: at(s),
  eventType,
  ...extra,
});
const scheduled = (s: number, kind: temporal.api.enums.v1.TaskQueueKind) =>
  event(s, T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, { workflowTaskScheduledEventAttributes: { taskQueue: { kind } } });
const started = (s: number) => event(s, T.EVENT_TYPE_WORKFLOW_TASK_STARTED, { workflowTaskStartedEventAttributes: {} });

describe('a run’s span from its history', () => {
  it('finds the wait for a worker, the work, and a checkpoint’s task moved off the sticky queue behind the backlog', () => {
    const span = runSpan('u1', {
      events: [
        event(0, T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, { workflowExecutionStartedEventAttributes: {} }),
        scheduled(0, TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        started(40),
        event(52, T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, { activityTaskCompletedEventAttributes: {} }),
        scheduled(52, TaskQueueKind.TASK_QUEUE_KIND_STICKY),
        event(62, T.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
          workflowTaskTimedOutEventAttributes: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START },
        }),
        scheduled(62, TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        started(362),
        event(370, T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, { workflowExecutionCompletedEventAttributes: {} }),
      ],
    });
    expect(span).toEqual({
      start: 1_800_000_000_000,
      taken: 1_800_000_040_000,
      end: 1_800_000_370_000,
      events: 9,
      longestGap: { ms: 300_000, transition: 'WorkflowTaskScheduled (shared queue) → WorkflowTaskStarted' },
      stickyTimeouts: 1,
    });
  });

  it('refuses a run that has not completed, naming its last event', () => {
    expect(() =>
      runSpan('u2', {
        events: [event(0, T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), started(1), event(5, T.EVENT_TYPE_TIMER_STARTED)],
      }),
    ).toThrow('u2: its run has not completed (last event TimerStarted)');
  });
});

import { withAttemptScope } from './attempt';
import { auditActivities } from './audit';
import { collectionActionActivities } from './collection-actions';
import { consoleActivities } from './console';
import type { CollectionActionActivities, ConsoleActivities, LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';
import { deviceActivities } from './device';
import { withFailureMapping } from './failures';
import { infrastructureActivities } from './infrastructure';
import { validationActivities } from './validation';

export type { ActivityDeps } from './deps';

/** Every activity of the lifecycle worker, over injected dependencies (Temporal's DI pattern). */
export function createActivities(
  deps: ActivityDeps,
): LifecycleActivities & CollectionActionActivities & ConsoleActivities {
  return withAttemptScope(
    withFailureMapping({
      ...auditActivities(deps.store),
      ...validationActivities(deps),
      ...infrastructureActivities(deps),
      ...deviceActivities(deps),
      ...consoleActivities(deps),
      ...collectionActionActivities(deps.store),
    }),
  );
}

export type Activities = LifecycleActivities & CollectionActionActivities & ConsoleActivities;

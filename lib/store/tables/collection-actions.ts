import type { ColumnType } from 'kysely';
import type { ActionResultStatus } from '../vocabulary';

/** Table types of lib/store/migrations/0008_collection_actions.sql (status widened by 0012). */
export interface CollectionActionResultsTable {
  action_id: string;
  device: string;
  status: ActionResultStatus;
  workflow_id: string | null;
  error_code: string | null;
  error_message: string | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface CollectionActionTables {
  collection_action_results: CollectionActionResultsTable;
}

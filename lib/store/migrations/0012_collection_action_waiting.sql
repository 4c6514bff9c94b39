-- A device of a collection action whose lifecycle run parks waiting for an operator (its retry
-- budget spent) is reported `waiting`, and the action goes on to its next batch without it instead
-- of waiting for the decision (issue 11 §3). Its row may later become `succeeded`, `refused` or
-- `failed` if the run ends while the same action run still goes on (workflows/collection-action.ts).
alter table collection_action_results drop constraint collection_action_results_status_check;
alter table collection_action_results add constraint collection_action_results_status_check check (
  status in ('started', 'busy', 'refused', 'succeeded', 'failed', 'waiting')
);

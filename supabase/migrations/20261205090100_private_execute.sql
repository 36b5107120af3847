-- mftrack hosted schema, part 6: EXECUTE on the functions of schema `private`, function by
-- function (issue 9 item 18).
--
-- PostgreSQL grants EXECUTE on every new function to PUBLIC. 20261124090000_sync_core.sql tried
-- to undo that with `alter default privileges in schema private revoke execute on functions
-- from public`, but per-schema default privileges can only add to the global ones, never take
-- away: that statement stores nothing (no pg_default_acl row), so a function created later in
-- `private` is executable by PUBLIC, hence by `authenticated` and `anon`. (A global
-- `alter default privileges revoke ... from public` would change every function the project's
-- `postgres` role creates anywhere, other apps' included, so mftrack does not do that.)
--
-- The rule instead: every migration that creates a function in `private` revokes it from
-- public, anon and authenticated by its signature, then grants EXECUTE only to the roles that
-- need it (docs/hosted-schema.md "Security"; tests/test_hosted_sql.py checks the catalog
-- against the list below). This file states the whole list once more, so a database that was
-- changed by hand is brought back to it. Idempotent.

revoke all on function
  private.bump_version(),
  private.register_synced_table(regclass),
  private.sync_begin(uuid),
  private.sync_finish(uuid, bigint, bigint, jsonb),
  private.sync_replayed_outcomes(uuid, bigint[]),
  private.sync_table_meta(),
  private.sync_is_permanent(text),
  private.sync_row_json_sql(text, jsonb),
  private.sync_id_taken(text, uuid),
  private.sync_apply(jsonb, jsonb),
  private.iso_date_or_null(jsonb),
  private.valid_pauses(jsonb),
  private.valid_money(jsonb),
  private.valid_amount_changes(jsonb),
  private.years_between(date, date),
  private.stepped_amount(numeric, text, numeric, integer),
  private.sip_schedule(date),
  private.sip_summary_rows(date)
  from public, anon, authenticated, service_role;

-- Called inside sync_push / sync_pull / sync_fetch (security invoker, run as the signed-in user).
grant execute on function
  private.sync_begin(uuid),
  private.sync_finish(uuid, bigint, bigint, jsonb),
  private.sync_replayed_outcomes(uuid, bigint[]),
  private.sync_table_meta(),
  private.sync_is_permanent(text),
  private.sync_row_json_sql(text, jsonb),
  private.sync_id_taken(text, uuid),
  private.sync_apply(jsonb, jsonb)
  to authenticated;
-- Called inside sip_summary (security invoker).
grant execute on function
  private.years_between(date, date),
  private.stepped_amount(numeric, text, numeric, integer),
  private.sip_schedule(date),
  private.sip_summary_rows(date)
  to authenticated;
-- CHECK constraints of public.sips call these as whoever writes the row (a user through the
-- API, or an operator as service_role); sync_table_meta serves the operator's tools too.
grant execute on function
  private.iso_date_or_null(jsonb),
  private.valid_pauses(jsonb),
  private.valid_money(jsonb),
  private.valid_amount_changes(jsonb),
  private.sync_table_meta()
  to authenticated, service_role;
-- bump_version (a trigger: EXECUTE is not checked when it fires) and register_synced_table
-- (migrations only) stay with their owner.

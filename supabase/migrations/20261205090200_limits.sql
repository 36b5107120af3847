-- mftrack hosted schema, part 7: limits per SIP, per user and per device (issue 9 item 19).
--
-- Without them one account could store a SIP with 100,000 pauses (6.9 s to push; sip_summary
-- then hit the 8 s statement timeout), unbounded SIPs and unbounded device rows. The numbers
-- are far above real use and equal to the client's (mftrack/services/limits.py); the table of
-- docs/hosted-schema.md "Limits" lists them all.
--
--   pauses per SIP           500   CHECK on public.sips (23514: the mutation is rejected)
--   amount_changes per SIP   500   CHECK on public.sips (23514)
--   live SIPs per user      5000   trigger on public.sips (23514), counted under the user's
--                                  sync_state row lock, so concurrent pushes cannot overshoot
--   devices per user          50   private.sync_begin (54000: the whole push is refused)
--
-- The CHECKs are added NOT VALID: rows already stored are not re-checked (the migration cannot
-- fail on an existing project), but any later write of such a row must satisfy them, except
-- its removal.

-- Tombstones are exempt, so a SIP stored before this file with more can still be removed.
alter table public.sips
  add constraint sips_pauses_count_check
    check (deleted or jsonb_typeof(pauses) <> 'array' or jsonb_array_length(pauses) <= 500)
    not valid,
  add constraint sips_amount_changes_count_check
    check (deleted or jsonb_typeof(amount_changes) <> 'array'
           or jsonb_array_length(amount_changes) <= 500)
    not valid;

-- Live SIPs per user. Runs after sips_bump_version (triggers fire in name order), which has
-- locked the user's sync_state row: every writer of this user waits here in turn.
create function private.sips_limit_per_user() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_live integer;
begin
  if new.deleted or (tg_op = 'UPDATE' and not old.deleted) then
    return new;  -- only a new live SIP or an undelete adds one
  end if;
  select count(*) into v_live
    from (select 1 from public.sips
           where user_id = new.user_id and not deleted and id <> new.id
           limit 5000) as live;
  if v_live >= 5000 then
    raise exception using
      errcode = '23514',
      message = 'too many SIPs: an account keeps at most 5000 (remove some first)';
  end if;
  return new;
end;
$$;
-- A trigger function: EXECUTE is not checked when it fires; nobody calls it directly.
revoke all on function private.sips_limit_per_user() from public, anon, authenticated, service_role;
create trigger sips_limit_per_user before insert or update on public.sips
  for each row execute function private.sips_limit_per_user();

-- Devices per user: sync_begin as before, but a device the server has not seen yet is refused
-- once the account has 50. An operator frees slots by deleting stale rows of
-- public.sync_clients (docs/hosted-schema.md "Limits").
create or replace function private.sync_begin(p_client_id uuid) returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_last bigint;
begin
  if v_uid is null then
    raise exception using errcode = '42501', message = 'sync requires a signed-in user';
  end if;
  insert into public.sync_state (user_id) values (v_uid) on conflict (user_id) do nothing;
  perform 1 from public.sync_state where user_id = v_uid for update;
  if not exists (select 1 from public.sync_clients
                  where user_id = v_uid and client_id = p_client_id)
     and (select count(*) from public.sync_clients where user_id = v_uid) >= 50 then
    raise exception using
      errcode = '54000',
      message = 'too many devices: an account syncs at most 50',
      hint = 'the operator can delete unused rows of public.sync_clients';
  end if;
  insert into public.sync_clients (user_id, client_id) values (v_uid, p_client_id)
    on conflict (user_id, client_id) do nothing;
  select last_mutation_id into v_last
    from public.sync_clients
   where user_id = v_uid and client_id = p_client_id
     for update;
  return v_last;
end;
$$;
-- create or replace keeps the function's privileges; stated again per function (part 6).
revoke all on function private.sync_begin(uuid) from public, anon, authenticated, service_role;
grant execute on function private.sync_begin(uuid) to authenticated;

-- Tell PostgREST to reload its schema cache (sync_pull's new p_horizon of part 5 included;
-- hosted Supabase also does this on DDL itself).
notify pgrst, 'reload schema';

-- mftrack hosted schema, part 1: the sync machinery shared by every synced table.
--
-- Runs after the Supabase base schema (roles anon/authenticated/service_role, schema auth,
-- auth.users, auth.uid()); see tests/standin/bootstrap.sql and docs/hosted-schema.md.
-- Design: ../shared/docs/sync-protocol.md D.2/D.3 (per-user serialised version).
--
-- Apply in file-name order, each file in one transaction (`supabase db push` does that;
-- with psql use `psql -1 -v ON_ERROR_STOP=1 -f <file>`).

-- ---------------------------------------------------------------------------------------------
-- `private`: helpers and internal tables. Not listed in PostgREST's db-schemas, so nothing here
-- is reachable through /rest/v1. EXECUTE is granted function by function below.
-- ---------------------------------------------------------------------------------------------
create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;
-- PostgreSQL grants EXECUTE on new functions to PUBLIC; undo that for this schema.
alter default privileges in schema private revoke execute on functions from public;

-- ---------------------------------------------------------------------------------------------
-- sync_state: one row per user, the per-user version counter.
--   version          bumped once per writing transaction by private.bump_version(); the row
--                    lock taken by that bump is held until commit, so a user's versions commit
--                    in increasing order (a pull that reads version V first can never miss a
--                    later commit with a number <= V).
--   last_xid,        identify the transaction that did the last bump, so that one transaction
--   last_xact_start  gets exactly one version however many rows it writes. The start time is
--                    compared too because xid8 values are only unique within one cluster: after
--                    a logical dump/restore into a new cluster a fresh transaction could reuse a
--                    stored xid and would otherwise silently reuse an old version number.
--   epoch            changes only when an operator calls rotate_sync_epoch() (after restoring a
--                    backup); a client that sees a different epoch re-pulls from scratch.
--   min_version      raised by purge_tombstones(); a client whose cursor is below it may have
--                    missed a purged tombstone and must re-pull from scratch.
-- ---------------------------------------------------------------------------------------------
create table public.sync_state (
  user_id uuid primary key references auth.users (id) on delete cascade,
  version bigint not null default 0,
  last_xid xid8,
  last_xact_start timestamptz,
  epoch uuid not null default gen_random_uuid(),
  min_version bigint not null default 0,
  constraint sync_state_version_check check (version >= 0),
  constraint sync_state_min_version_check check (min_version between 0 and version)
);
comment on table public.sync_state is
  'Per-user sync version counter (mftrack). Written only by private.* definer helpers.';

-- sync_clients: one row per (user, device); the highest mutation id applied from that device.
create table public.sync_clients (
  user_id uuid not null references auth.users (id) on delete cascade,
  client_id uuid not null,
  last_mutation_id bigint not null default 0,
  created_at timestamptz not null default now(),
  last_push_at timestamptz not null default now(),
  primary key (user_id, client_id),
  constraint sync_clients_last_mutation_id_check check (last_mutation_id >= 0)
);
comment on table public.sync_clients is
  'Per-device push watermark (mftrack). Written only by private.* definer helpers.';

-- Owners may read their own rows; nobody writes them except the definer helpers below (which
-- run as the table owner). No FORCE ROW LEVEL SECURITY: only the owner (the migration role) is
-- exempt, and the definer helpers rely on exactly that. See docs/hosted-schema.md "Security".
alter table public.sync_state enable row level security;
alter table public.sync_clients enable row level security;
create policy sync_state_select_own on public.sync_state
  for select to authenticated using ((select auth.uid()) = user_id);
create policy sync_clients_select_own on public.sync_clients
  for select to authenticated using ((select auth.uid()) = user_id);
revoke all on public.sync_state, public.sync_clients from public, anon, authenticated;
grant select on public.sync_state, public.sync_clients to authenticated;
grant all on public.sync_state, public.sync_clients to service_role;

-- ---------------------------------------------------------------------------------------------
-- private.sync_outcomes: what happened to mutations that were rejected or conflicted, kept so
-- that a resent batch (lost response) gets the same `rejected`/`conflicts` answer. Pruned by
-- sync_push itself: once a device pushes a batch starting at mid m, it has acknowledged every
-- mid < m, and their outcomes are dropped.
-- ---------------------------------------------------------------------------------------------
create table private.sync_outcomes (
  user_id uuid not null,
  client_id uuid not null,
  mid bigint not null,
  kind text not null,
  detail jsonb not null,
  created_at timestamptz not null default now(),
  primary key (user_id, client_id, mid),
  foreign key (user_id, client_id) references public.sync_clients (user_id, client_id)
    on delete cascade,
  constraint sync_outcomes_kind_check check (kind in ('conflict', 'rejected'))
);
alter table private.sync_outcomes enable row level security;  -- no policies: owner only
revoke all on private.sync_outcomes from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------
-- private.sync_tables: the registry of synced tables. sync_push accepts a mutation's "table" only
-- if it is listed here, and sync_pull returns rows from every listed table. Adding a synced
-- table is one migration: create it with the standard columns, call
-- private.register_synced_table(), add its RLS policies and grants (see 20261124090100_sips.sql).
-- ---------------------------------------------------------------------------------------------
create table private.sync_tables (
  table_name text primary key,
  registered_at timestamptz not null default now(),
  constraint sync_tables_name_check check (table_name ~ '^[a-z_][a-z0-9_]*$')
);
alter table private.sync_tables enable row level security;
create policy sync_tables_read on private.sync_tables
  for select to authenticated, service_role using (true);
revoke all on private.sync_tables from public, anon, authenticated;
grant select on private.sync_tables to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- The version trigger (sync-protocol.md D.2 fix 1, D.3). Generic: works for any table with
-- columns (id uuid, user_id uuid, version bigint, updated_at timestamptz).
-- security definer because it writes public.sync_state, which the API roles may only read.
-- A trigger function cannot be called directly ("trigger functions can only be called as
-- triggers"), and EXECUTE is revoked anyway; the privilege is not checked when a trigger fires.
-- ---------------------------------------------------------------------------------------------
create function private.bump_version() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_version bigint;
begin
  if new.user_id is null then
    raise exception using
      errcode = '23502',
      message = format('null value in column "user_id" of relation "%s" violates not-null constraint',
                       tg_table_name);
  end if;
  if tg_op = 'UPDATE' and (new.user_id <> old.user_id or new.id <> old.id) then
    raise exception using
      errcode = '42501',
      message = format('the id and user_id of a row in "%s" cannot change', tg_table_name);
  end if;
  -- Do not touch another user's counter (RLS would reject the row after this trigger, but the
  -- lock would already have been taken). Requests without a user (service_role) may write any.
  if v_uid is not null and new.user_id <> v_uid then
    raise exception using
      errcode = '42501',
      message = format('new row violates row-level security policy for table "%s"', tg_table_name);
  end if;

  -- Already bumped by this transaction? Then reuse that version (no second write of the row).
  select s.version into v_version
    from public.sync_state s
   where s.user_id = new.user_id
     and s.last_xid = pg_current_xact_id()
     and s.last_xact_start = now();
  if not found then
    insert into public.sync_state as s (user_id, version, last_xid, last_xact_start)
    values (new.user_id, 1, pg_current_xact_id(), now())
    on conflict (user_id) do update
      set version = s.version + 1,
          last_xid = excluded.last_xid,
          last_xact_start = excluded.last_xact_start
    returning s.version into v_version;
  end if;

  new.version := v_version;
  new.updated_at := now();
  return new;
end;
$$;
revoke all on function private.bump_version() from public, anon, authenticated;

-- Attach the trigger to a table and list it in the registry. The table must already have the
-- standard sync columns; this checks them so a mistake fails the migration, not a later push.
create function private.register_synced_table(p_table regclass) returns void
  language plpgsql
  set search_path = ''
as $$
declare
  v_schema text;
  v_name text;
  v_missing text;
begin
  select n.nspname, c.relname into v_schema, v_name
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = p_table;
  if v_schema <> 'public' then
    raise exception 'synced tables live in schema public, not %', v_schema;
  end if;
  select string_agg(req.col || ' ' || req.typ, ', ') into v_missing
    from (values ('id', 'uuid'), ('user_id', 'uuid'), ('version', 'int8'),
                 ('updated_at', 'timestamptz'), ('deleted', 'bool')) as req (col, typ)
   where not exists (
     select 1 from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
      where a.attrelid = p_table and a.attname = req.col and t.typname = req.typ
        and a.attnum > 0 and not a.attisdropped and (req.col = 'updated_at' or a.attnotnull));
  if v_missing is not null then
    raise exception 'table % lacks sync columns: %', p_table, v_missing;
  end if;
  execute format(
    'create trigger %I before insert or update on public.%I '
    'for each row execute function private.bump_version()',
    v_name || '_bump_version', v_name);
  insert into private.sync_tables (table_name) values (v_name);
end;
$$;
revoke all on function private.register_synced_table(regclass) from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------
-- Narrow definer helpers used by public.sync_push (which is security invoker). They write the
-- caller's own sync_state / sync_clients / sync_outcomes rows only: the user always comes from
-- auth.uid(), never from an argument. They live in `private`, so PostgREST cannot call them.
-- ---------------------------------------------------------------------------------------------

-- Start a push: lock the user's sync_state row (so concurrent pushes and direct writes of one
-- user are serialised, and every push takes its locks in the same order: sync_state first,
-- then rows) and the device's sync_clients row; return the device's last_mutation_id.
create function private.sync_begin(p_client_id uuid) returns bigint
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
  insert into public.sync_clients (user_id, client_id) values (v_uid, p_client_id)
    on conflict (user_id, client_id) do nothing;
  select last_mutation_id into v_last
    from public.sync_clients
   where user_id = v_uid and client_id = p_client_id
     for update;
  return v_last;
end;
$$;

-- Finish a push: advance the device's watermark, drop outcomes the device has acknowledged
-- (mid < p_ack_below), store this batch's outcomes, and return the user's current version.
-- p_outcomes: [{"mid": n, "kind": "conflict"|"rejected", "detail": {...}}, ...]
create function private.sync_finish(
  p_client_id uuid, p_last_mutation_id bigint, p_ack_below bigint, p_outcomes jsonb
) returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_version bigint;
begin
  if v_uid is null then
    raise exception using errcode = '42501', message = 'sync requires a signed-in user';
  end if;
  update public.sync_clients
     set last_mutation_id = greatest(last_mutation_id, p_last_mutation_id),
         last_push_at = now()
   where user_id = v_uid and client_id = p_client_id;
  if p_ack_below is not null then
    delete from private.sync_outcomes
     where user_id = v_uid and client_id = p_client_id and mid < p_ack_below;
  end if;
  insert into private.sync_outcomes (user_id, client_id, mid, kind, detail)
  select v_uid, p_client_id, (o ->> 'mid')::bigint, o ->> 'kind', o -> 'detail'
    from jsonb_array_elements(coalesce(p_outcomes, '[]'::jsonb)) as o
  on conflict (user_id, client_id, mid) do update
    set kind = excluded.kind, detail = excluded.detail, created_at = excluded.created_at;
  select version into v_version from public.sync_state where user_id = v_uid;
  return coalesce(v_version, 0);
end;
$$;

-- The stored outcomes of already-processed mids (for a resent batch).
create function private.sync_replayed_outcomes(p_client_id uuid, p_mids bigint[])
  returns table (mid bigint, kind text, detail jsonb)
  language sql
  stable
  security definer
  set search_path = ''
as $$
  select o.mid, o.kind, o.detail
    from private.sync_outcomes o
   where o.user_id = auth.uid() and o.client_id = p_client_id and o.mid = any (p_mids)
   order by o.mid
$$;

revoke all on function private.sync_begin(uuid) from public, anon;
revoke all on function private.sync_finish(uuid, bigint, bigint, jsonb) from public, anon;
revoke all on function private.sync_replayed_outcomes(uuid, bigint[]) from public, anon;
grant execute on function private.sync_begin(uuid) to authenticated;
grant execute on function private.sync_finish(uuid, bigint, bigint, jsonb) to authenticated;
grant execute on function private.sync_replayed_outcomes(uuid, bigint[]) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- Column metadata of the registered tables, used by sync_push (validation) and sync_pull
-- (projection). {"<table>": {"<column>": {"type": typname, "cat": typcategory,
-- "scale": n|null, "writable": bool}}}. Not writable through sync_push: the sync columns.
-- ---------------------------------------------------------------------------------------------
create function private.sync_table_meta() returns jsonb
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  select coalesce(jsonb_object_agg(st.table_name, cols.meta), '{}'::jsonb)
    from private.sync_tables st
    cross join lateral (
      select jsonb_object_agg(
               a.attname,
               jsonb_build_object(
                 'type', t.typname,
                 'cat', t.typcategory,
                 'scale', case when t.typname = 'numeric' and a.atttypmod >= 4
                               then (a.atttypmod - 4) & 65535 end,
                 'writable', a.attname not in ('id', 'user_id', 'version', 'updated_at', 'deleted')
                             and a.attgenerated = '')) as meta
        from pg_catalog.pg_attribute a
        join pg_catalog.pg_type t on t.oid = a.atttypid
       where a.attrelid = pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(st.table_name))
         and a.attnum > 0 and not a.attisdropped
    ) cols
   where cols.meta is not null
$$;
revoke all on function private.sync_table_meta() from public, anon;
grant execute on function private.sync_table_meta() to authenticated, service_role;

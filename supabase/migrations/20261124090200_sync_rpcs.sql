-- mftrack hosted schema, part 3: the sync RPCs (POST /rest/v1/rpc/<name>).
-- Exact JSON shapes and rules: docs/hosted-schema.md. Design: ../shared/docs/sync-protocol.md.

-- Errors a mutation is rejected for (reported per mutation, the queue moves on). These are the
-- codes the client treats as permanent (sync-protocol.md D.4): data exceptions (22xxx),
-- integrity violations (23xxx), insufficient privilege / RLS (42501), plain RAISE (P0001).
-- Anything else (serialisation failure, deadlock, lock or statement time-out, out of memory,
-- a bug) fails the whole call so the client retries it later.
create function private.sync_is_permanent(p_sqlstate text) returns boolean
  language sql
  immutable
  set search_path = ''
as $$
  select left(p_sqlstate, 2) in ('22', '23') or p_sqlstate in ('42501', 'P0001')
$$;
revoke all on function private.sync_is_permanent(text) from public, anon;
grant execute on function private.sync_is_permanent(text) to authenticated;

-- The SQL expression (over alias `t`) that renders a row of p_table the way sync_pull shows it:
-- all columns except user_id, plus "table"; numeric columns as strings (exact decimals),
-- timestamptz columns in UTC as "YYYY-MM-DDTHH:MM:SS.ffffffZ".
create function private.sync_row_json_sql(p_table text, p_meta jsonb) returns text
  language sql
  immutable
  set search_path = ''
as $$
  select format('((to_jsonb(t) - ''user_id'') || jsonb_build_object(''table'', %L%s))',
                p_table,
                coalesce((
                  select string_agg(
                           case when c.value ->> 'type' = 'numeric'
                                then format(', %L, t.%I::text', c.key, c.key)
                                else format(', %L, to_char(t.%I at time zone ''UTC'', '
                                            '''YYYY-MM-DD"T"HH24:MI:SS.US"Z"'')', c.key, c.key)
                           end, '' order by c.key)
                    from jsonb_each(p_meta -> p_table) as c
                   where c.value ->> 'type' in ('numeric', 'timestamptz')), ''))
$$;
revoke all on function private.sync_row_json_sql(text, jsonb) from public, anon;
grant execute on function private.sync_row_json_sql(text, jsonb) to authenticated;

-- Does a row with this id exist in a synced table and belong to someone else? RLS hides such
-- rows from the caller, so without this a partial update of a foreign id would look like a create
-- with missing fields (23502). security definer, but it answers only yes/no about one id the
-- caller already holds (ids are random uuids) -- the same fact an RLS-violating upsert reveals.
create function private.sync_id_taken(p_table text, p_id uuid) returns boolean
  language plpgsql
  stable
  security definer
  set search_path = ''
as $$
declare
  v_taken boolean;
begin
  if not exists (select 1 from private.sync_tables where table_name = p_table) then
    return false;
  end if;
  execute format('select exists (select 1 from public.%I where id = $1 and user_id <> $2)', p_table)
    into v_taken
    using p_id, auth.uid();
  return v_taken;
end;
$$;
revoke all on function private.sync_id_taken(text, uuid) from public, anon;
grant execute on function private.sync_id_taken(text, uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- Apply one mutation (already known to be new for this device). security invoker: every read
-- and write below goes through the caller's RLS policies. Returns
-- {"old_version": <row version before, or null if the row did not exist>, "noop": bool}.
-- Raises (and so rejects the mutation) on anything malformed or invalid.
-- ---------------------------------------------------------------------------------------------
create function private.sync_apply(p_m jsonb, p_meta jsonb) returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_table text;
  v_cols jsonb;
  v_id uuid;
  v_fields jsonb;
  v_deleted boolean := false;
  v_undelete boolean := false;
  v_key text;
  v_val jsonb;
  v_col jsonb;
  v_text text;
  v_names text;
  v_values text;
  v_set text;
  v_old_version bigint;
  v_old_deleted boolean;
  v_new_deleted boolean;
  v_count bigint;
begin
  if jsonb_typeof(p_m -> 'table') is distinct from 'string' or not (p_meta ? (p_m ->> 'table')) then
    raise exception using errcode = '22023',
      message = format('unknown table %s', coalesce(p_m -> 'table', 'null'::jsonb));
  end if;
  v_table := p_m ->> 'table';
  v_cols := p_meta -> v_table;

  if jsonb_typeof(p_m -> 'id') is distinct from 'string' then
    raise exception using errcode = '22023', message = '"id" must be a UUID string';
  end if;
  v_id := (p_m ->> 'id')::uuid;  -- 22P02 if malformed

  if coalesce(jsonb_typeof(p_m -> 'base_version'), 'null') <> 'null'
     and (jsonb_typeof(p_m -> 'base_version') <> 'number'
          or (p_m ->> 'base_version') !~ '^\d{1,18}$') then
    raise exception using errcode = '22023',
      message = '"base_version" must be a non-negative integer or null';
  end if;

  v_fields := coalesce(nullif(p_m -> 'fields', 'null'::jsonb), '{}'::jsonb);
  if jsonb_typeof(v_fields) <> 'object' then
    raise exception using errcode = '22023', message = '"fields" must be a JSON object';
  end if;

  -- Clients that send whole records (mftrack.domain.sip_record.SYNCED_FIELDS) include these two:
  -- "updated_at" is server-assigned, so it is ignored; "deleted": true inside fields means the
  -- same as the mutation's "deleted": true, and false never undeletes (tombstones are sticky).
  if v_fields ? 'deleted' then
    if jsonb_typeof(v_fields -> 'deleted') not in ('boolean', 'null') then
      raise exception using errcode = '22023', message = 'field "deleted" must be a boolean';
    end if;
    v_deleted := coalesce((v_fields ->> 'deleted')::boolean, false);
    v_fields := v_fields - 'deleted';
  end if;
  v_fields := v_fields - 'updated_at';

  if coalesce(jsonb_typeof(p_m -> 'deleted'), 'null') <> 'null' then
    if jsonb_typeof(p_m -> 'deleted') <> 'boolean' then
      raise exception using errcode = '22023', message = '"deleted" must be true, false or null';
    end if;
    v_deleted := v_deleted or (p_m -> 'deleted')::boolean;
  end if;
  if coalesce(jsonb_typeof(p_m -> 'undelete'), 'null') <> 'null' then
    if jsonb_typeof(p_m -> 'undelete') <> 'boolean' then
      raise exception using errcode = '22023', message = '"undelete" must be true, false or null';
    end if;
    v_undelete := (p_m -> 'undelete')::boolean;
  end if;
  if v_deleted and v_undelete then
    raise exception using errcode = '22023', message = '"deleted" and "undelete" are both true';
  end if;

  -- Type-check each field against its column (the CHECK constraints do the rest).
  for v_key, v_val in select e.key, e.value from jsonb_each(v_fields) as e loop
    v_col := v_cols -> v_key;
    if v_col is null or not (v_col ->> 'writable')::boolean then
      raise exception using errcode = '22023',
        message = format('field "%s" cannot be written in table "%s"', v_key, v_table);
    end if;
    continue when jsonb_typeof(v_val) = 'null';  -- NOT NULL constraints decide
    v_text := v_val #>> '{}';
    if v_col ->> 'type' in ('json', 'jsonb') then
      null;  -- any JSON; CHECK constraints validate the shape
    elsif v_col ->> 'cat' = 'N' then
      if jsonb_typeof(v_val) not in ('number', 'string')
         or v_text !~ '^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?$' then
        raise exception using errcode = '22023',
          message = format('field "%s" must be a number (a JSON number or a decimal string)', v_key);
      end if;
      if v_col ->> 'scale' is not null
         and scale(trim_scale(v_text::numeric)) > (v_col ->> 'scale')::int then
        raise exception using errcode = '22023',
          message = format('field "%s" allows at most %s decimal places', v_key, v_col ->> 'scale');
      end if;
    elsif v_col ->> 'cat' = 'B' then
      if jsonb_typeof(v_val) <> 'boolean' then
        raise exception using errcode = '22023', message = format('field "%s" must be a boolean', v_key);
      end if;
    elsif v_col ->> 'type' = 'date' then
      if jsonb_typeof(v_val) <> 'string' or v_text !~ '^\d{4}-\d{2}-\d{2}$' then
        raise exception using errcode = '22007',
          message = format('field "%s" must be a date string "YYYY-MM-DD"', v_key);
      end if;
    elsif jsonb_typeof(v_val) <> 'string' then
      raise exception using errcode = '22023', message = format('field "%s" must be a string', v_key);
    end if;
  end loop;

  -- Lock the row (if it exists and is ours; RLS hides other users' rows).
  execute format('select version, deleted from public.%I where id = $1 for update', v_table)
    into v_old_version, v_old_deleted
    using v_id;

  if v_old_version is null then
    if private.sync_id_taken(v_table, v_id) then
      raise exception using errcode = '42501',
        message = format('row %s of table "%s" belongs to another user', v_id, v_table);
    end if;
    if v_deleted and v_fields = '{}'::jsonb then
      return jsonb_build_object('old_version', null, 'noop', true);  -- delete of an unknown row
    end if;
    select string_agg(format('%I', k), ', '), string_agg(format('r.%I', k), ', ')
      into v_names, v_values
      from jsonb_object_keys(v_fields) as k;
    execute format(
      'insert into public.%I (id, deleted%s) select $2, $3%s '
      'from jsonb_populate_record(null::public.%I, $1) as r on conflict (id) do nothing',
      v_table, coalesce(', ' || v_names, ''), coalesce(', ' || v_values, ''), v_table)
      using v_fields, v_id, v_deleted;
    get diagnostics v_count = row_count;
    if v_count = 0 then
      -- The id exists but is invisible to us: another user's row (inserted meanwhile).
      raise exception using errcode = '42501',
        message = format('row %s of table "%s" belongs to another user', v_id, v_table);
    end if;
    return jsonb_build_object('old_version', null, 'noop', false);
  end if;

  v_new_deleted := case when v_undelete then false else v_old_deleted or v_deleted end;
  if v_fields = '{}'::jsonb and v_new_deleted = v_old_deleted then
    return jsonb_build_object('old_version', v_old_version, 'noop', true);
  end if;
  select string_agg(format('%I = r.%I', k, k), ', ') into v_set
    from jsonb_object_keys(v_fields) as k;
  execute format(
    'update public.%I as t set %s deleted = $3 '
    'from jsonb_populate_record(null::public.%I, $1) as r where t.id = $2',
    v_table, coalesce(v_set || ',', ''), v_table)
    using v_fields, v_id, v_new_deleted;
  return jsonb_build_object('old_version', v_old_version, 'noop', false);
end;
$$;
revoke all on function private.sync_apply(jsonb, jsonb) from public, anon;
grant execute on function private.sync_apply(jsonb, jsonb) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- sync_push(p_client_id, p_mutations) -> jsonb
-- ---------------------------------------------------------------------------------------------
create function public.sync_push(p_client_id uuid, p_mutations jsonb) returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_last bigint;           -- the device's last_mutation_id before this call
  v_prev bigint;           -- previous mid in the batch
  v_first bigint;          -- first mid in the batch
  v_mid bigint;
  v_m jsonb;
  v_todo jsonb[] := '{}';
  v_skipped bigint[] := '{}';
  v_meta jsonb;
  v_pass int := 1;
  v_res jsonb;
  v_applied int;
  v_conflicts jsonb;
  v_rejected jsonb;
  v_seen jsonb;            -- "<table>:<id>" -> the row's version before this call (or null)
  v_key text;
  v_pre bigint;
  v_state text;
  v_msg text;
  v_old_conflicts jsonb := '[]'::jsonb;
  v_old_rejected jsonb := '[]'::jsonb;
  v_outcomes jsonb;
  v_version bigint;
begin
  if v_uid is null then
    raise exception using errcode = '42501', message = 'sync_push requires a signed-in user';
  end if;
  if p_client_id is null then
    raise exception using errcode = '22023', message = 'p_client_id is required';
  end if;
  if p_mutations is null or jsonb_typeof(p_mutations) <> 'array' then
    raise exception using errcode = '22023', message = 'p_mutations must be a JSON array';
  end if;
  if jsonb_array_length(p_mutations) > 2000 then
    raise exception using errcode = '22023',
      message = 'too many mutations in one push (at most 2000; send batches of about 200)';
  end if;

  -- Serialise with the user's other pushes and lock this device's watermark.
  v_last := private.sync_begin(p_client_id);

  -- Envelope: every mutation needs an integer mid, strictly increasing in the batch.
  for v_m in select e.value from jsonb_array_elements(p_mutations) as e loop
    if jsonb_typeof(v_m) is distinct from 'object' or jsonb_typeof(v_m -> 'mid') is distinct from 'number'
       or (v_m ->> 'mid') !~ '^\d{1,18}$' or (v_m ->> 'mid')::bigint < 1 then
      raise exception using errcode = '22023',
        message = 'every mutation must be an object with a positive integer "mid"';
    end if;
    v_mid := (v_m ->> 'mid')::bigint;
    if v_prev is not null and v_mid <= v_prev then
      raise exception using errcode = '22023',
        message = format('mids must be strictly increasing within a batch (%s after %s)', v_mid, v_prev);
    end if;
    v_prev := v_mid;
    v_first := coalesce(v_first, v_mid);
    if v_mid <= v_last then
      v_skipped := v_skipped || v_mid;     -- already applied (or rejected) earlier: replay
    else
      v_todo := v_todo || v_m;
    end if;
  end loop;

  v_meta := private.sync_table_meta();

  -- Pass 1 applies the whole batch inside a single subtransaction. Only if some mutation fails
  -- with a permanent error does pass 2 redo the batch with one subtransaction per mutation,
  -- rejecting the bad ones. (One subtransaction per mutation on every push would overflow the
  -- 64-entry subxid cache for batches > 64 and slow snapshots for everyone.)
  loop
    v_applied := 0;
    v_conflicts := '[]'::jsonb;
    v_rejected := '[]'::jsonb;
    v_seen := '{}'::jsonb;
    begin
      foreach v_m in array v_todo loop
        if v_pass = 1 then
          v_res := private.sync_apply(v_m, v_meta);
        else
          begin
            v_res := private.sync_apply(v_m, v_meta);
          exception when others then
            get stacked diagnostics v_state = returned_sqlstate, v_msg = message_text;
            if not private.sync_is_permanent(v_state) then
              raise;
            end if;
            v_rejected := v_rejected || jsonb_build_array(jsonb_build_object(
              'mid', (v_m ->> 'mid')::bigint, 'table', v_m -> 'table', 'id', v_m -> 'id',
              'code', v_state, 'message', v_msg));
            v_res := null;
          end;
        end if;
        if v_res is not null then
          v_applied := v_applied + 1;
          v_key := (v_m ->> 'table') || ':' || (v_m ->> 'id')::uuid::text;
          if not v_seen ? v_key then
            v_seen := v_seen || jsonb_build_object(v_key, v_res -> 'old_version');
          end if;
          v_pre := (v_seen ->> v_key)::bigint;
          if v_pre is not null and v_pre > coalesce((v_m ->> 'base_version')::bigint, 0) then
            v_conflicts := v_conflicts || jsonb_build_array(jsonb_build_object(
              'mid', (v_m ->> 'mid')::bigint, 'table', v_m ->> 'table',
              'id', (v_m ->> 'id')::uuid, 'base_version', (v_m ->> 'base_version')::bigint,
              'server_version', v_pre));
          end if;
        end if;
      end loop;
      exit;
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate;
      if v_pass = 2 or not private.sync_is_permanent(v_state) then
        raise;
      end if;
      v_pass := 2;
    end;
  end loop;

  -- Outcomes of replayed mids, so a resent batch gets the same conflicts/rejected answer.
  if cardinality(v_skipped) > 0 then
    select coalesce(jsonb_agg(o.detail order by o.mid) filter (where o.kind = 'conflict'), '[]'::jsonb),
           coalesce(jsonb_agg(o.detail order by o.mid) filter (where o.kind = 'rejected'), '[]'::jsonb)
      into v_old_conflicts, v_old_rejected
      from private.sync_replayed_outcomes(p_client_id, v_skipped) as o;
  end if;

  select coalesce(jsonb_agg(jsonb_build_object('mid', c -> 'mid', 'kind', 'conflict', 'detail', c)),
                  '[]'::jsonb)
    into v_outcomes
    from jsonb_array_elements(v_conflicts) as c;
  select v_outcomes || coalesce(jsonb_agg(jsonb_build_object('mid', r -> 'mid', 'kind', 'rejected',
                                                            'detail', r)), '[]'::jsonb)
    into v_outcomes
    from jsonb_array_elements(v_rejected) as r;

  v_version := private.sync_finish(p_client_id, greatest(v_last, coalesce(v_prev, 0)), v_first,
                                   v_outcomes);

  return jsonb_build_object(
    'last_mutation_id', greatest(v_last, coalesce(v_prev, 0)),
    'version', v_version,
    'applied', v_applied,
    'skipped', cardinality(v_skipped),
    'conflicts', v_old_conflicts || v_conflicts,
    'rejected', v_old_rejected || v_rejected);
end;
$$;
revoke all on function public.sync_push(uuid, jsonb) from public, anon;
grant execute on function public.sync_push(uuid, jsonb) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- sync_pull(p_since, p_after_id, p_limit, p_epoch, p_client_id) -> jsonb
-- stable: PostgREST runs it read-only; one snapshot covers the version read and the rows.
-- ---------------------------------------------------------------------------------------------
create function public.sync_pull(
  p_since bigint default 0,
  p_after_id uuid default null,
  p_limit integer default 500,
  p_epoch uuid default null,
  p_client_id uuid default null
) returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_since bigint := greatest(coalesce(p_since, 0), 0);
  -- A null p_after_id means "everything at version p_since was seen": compare against the
  -- largest uuid so the row comparison (version, id) > (p_since, after) skips that version.
  v_after uuid := coalesce(p_after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid);
  v_limit int := least(greatest(coalesce(p_limit, 500), 1), 1000);
  v_server bigint := 0;
  v_epoch uuid;
  v_min bigint := 0;
  v_meta jsonb;
  v_sql text;
  v_rows jsonb;
  v_count int;
  v_last jsonb;
  v_acked bigint;
begin
  if v_uid is null then
    raise exception using errcode = '42501', message = 'sync_pull requires a signed-in user';
  end if;

  -- The device's last applied mutation id, from the same snapshot as the rows: outbox entries
  -- with mid <= this are already reflected in the rows below and must not be overlaid on them.
  if p_client_id is not null then
    select c.last_mutation_id into v_acked
      from public.sync_clients c
     where c.user_id = v_uid and c.client_id = p_client_id;
    v_acked := coalesce(v_acked, 0);
  end if;

  -- Read V first. Every version <= V has committed (versions are handed out under the
  -- sync_state row lock, held to commit), and this function's single snapshot sees them all.
  select s.version, s.epoch, s.min_version into v_server, v_epoch, v_min
    from public.sync_state s
   where s.user_id = v_uid;
  if not found then
    v_server := 0;
    v_epoch := null;
    v_min := 0;
  end if;

  if (p_epoch is not null and p_epoch is distinct from v_epoch)
     or (v_since > 0 and v_since < v_min)
     or v_since > v_server then
    return jsonb_build_object(
      'rows', '[]'::jsonb,
      'cursor', jsonb_build_object('version', 0, 'id', null),
      'has_more', true,
      'server_version', v_server,
      'epoch', v_epoch,
      'reset', true,
      'last_mutation_id', v_acked);
  end if;

  if v_since = v_server and p_after_id is null then  -- nothing new: one primary-key lookup
    v_rows := '[]'::jsonb;
    v_count := 0;
  else
    v_meta := private.sync_table_meta();
    -- One keyset query per synced table (each can walk its (user_id, version, id) index),
    -- merged and cut to the page size.
    select string_agg(format(
             '(select t.version, t.id, %s as r from public.%I as t '
             'where t.user_id = $1 and (t.version, t.id) > ($2, $3) and t.version <= $4 '
             'order by t.version, t.id limit $5)',
             private.sync_row_json_sql(m.key, v_meta), m.key), ' union all ')
      into v_sql
      from jsonb_each(v_meta) as m;

    execute format(
      'select coalesce(jsonb_agg(q.r order by q.version, q.id), ''[]''::jsonb), count(*) '
      'from (select * from (%s) as u order by u.version, u.id limit $5) as q', v_sql)
      into v_rows, v_count
      using v_uid, v_since, v_after, v_server, v_limit + 1;
  end if;

  if v_count > v_limit then
    v_rows := v_rows - v_limit;                 -- drop the look-ahead row
    v_last := v_rows -> (v_limit - 1);
    return jsonb_build_object(
      'rows', v_rows,
      'cursor', jsonb_build_object('version', (v_last ->> 'version')::bigint, 'id', v_last -> 'id'),
      'has_more', true,
      'server_version', v_server,
      'epoch', v_epoch,
      'reset', false,
      'last_mutation_id', v_acked);
  end if;
  return jsonb_build_object(
    'rows', v_rows,
    'cursor', jsonb_build_object('version', v_server, 'id', null),
    'has_more', false,
    'server_version', v_server,
    'epoch', v_epoch,
    'reset', false,
    'last_mutation_id', v_acked);
end;
$$;
revoke all on function public.sync_pull(bigint, uuid, integer, uuid, uuid) from public, anon;
grant execute on function public.sync_pull(bigint, uuid, integer, uuid, uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- sync_fetch(p_table, p_ids) -> {"rows": [...]}: the current server rows (tombstones included)
-- for some ids, in sync_pull's row shape. For the client's dead-letter path: after a mutation
-- is rejected, overwrite the local row with the server's. Ids that do not exist (or are not the
-- caller's) are simply absent.
-- ---------------------------------------------------------------------------------------------
create function public.sync_fetch(p_table text, p_ids uuid[]) returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_meta jsonb;
  v_rows jsonb;
begin
  if v_uid is null then
    raise exception using errcode = '42501', message = 'sync_fetch requires a signed-in user';
  end if;
  v_meta := private.sync_table_meta();
  if p_table is null or not v_meta ? p_table then
    raise exception using errcode = '22023', message = format('unknown table "%s"', p_table);
  end if;
  if cardinality(p_ids) > 1000 then
    raise exception using errcode = '22023', message = 'at most 1000 ids per call';
  end if;
  execute format(
    'select coalesce(jsonb_agg(%s order by t.id), ''[]''::jsonb) from public.%I as t '
    'where t.user_id = $1 and t.id = any ($2)',
    private.sync_row_json_sql(p_table, v_meta), p_table)
    into v_rows
    using v_uid, coalesce(p_ids, '{}'::uuid[]);
  return jsonb_build_object('rows', v_rows);
end;
$$;
revoke all on function public.sync_fetch(text, uuid[]) from public, anon;
grant execute on function public.sync_fetch(text, uuid[]) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- Operator functions (service_role only; call them from a scheduled job or the SQL editor).
-- ---------------------------------------------------------------------------------------------

-- Hard-delete tombstones whose last change is older than p_older_than, for at most p_max_users
-- users per call (each affected user's sync_state row stays locked until the call commits), and
-- raise those users' min_version so clients whose cursor predates a purged tombstone re-pull
-- from scratch. Returns {"purged": rows, "users": n, "more": bool}; call again while "more".
create function public.purge_tombstones(p_older_than interval, p_max_users integer default 1000)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_cutoff timestamptz;
  v_tables text[];
  v_users uuid[];
  v_user uuid;
  v_table text;
  v_count bigint;
  v_max bigint;
  v_user_max bigint;
  v_total bigint := 0;
  v_more boolean;
begin
  if p_older_than is null or p_older_than < interval '0' then
    raise exception using errcode = '22023', message = 'p_older_than must be a non-negative interval';
  end if;
  if p_max_users is null or p_max_users < 1 then
    raise exception using errcode = '22023', message = 'p_max_users must be at least 1';
  end if;
  v_cutoff := now() - p_older_than;
  select array_agg(table_name order by table_name) into v_tables from private.sync_tables;
  if v_tables is null then
    return jsonb_build_object('purged', 0, 'users', 0, 'more', false);
  end if;

  execute format(
    'select array(select u.user_id from (%s) as u order by u.user_id limit $2)',
    (select string_agg(format('select user_id from public.%I where deleted and updated_at < $1', t),
                       ' union ')
       from unnest(v_tables) as t))
    into v_users
    using v_cutoff, p_max_users + 1;
  v_more := cardinality(v_users) > p_max_users;
  v_users := v_users[1:p_max_users];

  foreach v_user in array v_users loop
    -- Same lock order as a push: sync_state first, then rows.
    perform 1 from public.sync_state where user_id = v_user for update;
    v_user_max := 0;
    foreach v_table in array v_tables loop
      execute format(
        'with d as (delete from public.%I where user_id = $1 and deleted and updated_at < $2 '
        'returning version) select count(*), max(version) from d', v_table)
        into v_count, v_max
        using v_user, v_cutoff;
      v_total := v_total + v_count;
      v_user_max := greatest(v_user_max, coalesce(v_max, 0));
    end loop;
    update public.sync_state set min_version = greatest(min_version, v_user_max)
     where user_id = v_user;
  end loop;

  return jsonb_build_object('purged', v_total, 'users', cardinality(v_users), 'more', v_more);
end;
$$;
revoke all on function public.purge_tombstones(interval, integer) from public, anon, authenticated;
grant execute on function public.purge_tombstones(interval, integer) to service_role;

-- Give one user (or, with null, every user) a new epoch: their clients see "reset": true on the
-- next pull and re-pull everything. Run after restoring the database from a backup.
create function public.rotate_sync_epoch(p_user_id uuid default null) returns integer
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_count integer;
begin
  update public.sync_state
     set epoch = gen_random_uuid()
   where p_user_id is null or user_id = p_user_id;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
revoke all on function public.rotate_sync_epoch(uuid) from public, anon, authenticated;
grant execute on function public.rotate_sync_epoch(uuid) to service_role;

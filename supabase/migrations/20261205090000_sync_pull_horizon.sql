-- mftrack hosted schema, part 5: the pull cursor tells a full re-pull from a device behind the
-- tombstone purge horizon (issue 9 item 1). Replaces public.sync_pull.
--
-- Before: sync_pull answered `reset` whenever 0 < p_since < min_version. A full re-pull (after a
-- reset, or a new device's first pull) starts at version 0 and pages through the live rows,
-- whose versions are all below min_version once a recent tombstone was purged, so its second
-- page was answered `reset` again and no user with more than one page of rows could finish.
--
-- Now the cursor of a pull that started at version 0 carries the purge horizon it started from
-- ("horizon": min_version at its first page); the client passes it back as p_horizon. A page is
-- answered `reset` only when min_version > greatest(p_since, p_horizon): some tombstone the
-- device has not seen was purged after the pull (or the device's last full pull) began.
-- Tombstones at or below p_since were returned by an earlier page; tombstones purged before a
-- full pull began belong to rows it never receives, which the client drops when it ends.
-- A horizon above min_version (the database went back in time) resets too.
--
-- Old clients (no p_horizon) get exactly the old behaviour. Design: docs/hosted-schema.md
-- "sync_pull", ../shared/docs/sync-protocol.md D.3.

drop function public.sync_pull(bigint, uuid, integer, uuid, uuid);

-- ---------------------------------------------------------------------------------------------
-- sync_pull(p_since, p_after_id, p_limit, p_epoch, p_client_id, p_horizon) -> jsonb
-- stable: PostgREST runs it read-only; one snapshot covers the version read and the rows.
-- ---------------------------------------------------------------------------------------------
create function public.sync_pull(
  p_since bigint default 0,
  p_after_id uuid default null,
  p_limit integer default 500,
  p_epoch uuid default null,
  p_client_id uuid default null,
  p_horizon bigint default null
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
  v_horizon bigint;        -- the purge horizon of a full pull in progress, else null
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

  -- A pull from version 0 is a full pull: it starts from the current horizon. Later pages of
  -- it pass that horizon back; an incremental pull has none.
  v_horizon := case when v_since = 0 then v_min else p_horizon end;

  if (p_epoch is not null and p_epoch is distinct from v_epoch)
     or (v_since > 0 and v_min > greatest(v_since, coalesce(p_horizon, 0)))
     or (v_since > 0 and p_horizon > v_min)
     or v_since > v_server then
    return jsonb_build_object(
      'rows', '[]'::jsonb,
      'cursor', jsonb_build_object('version', 0, 'id', null, 'horizon', null),
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
      'cursor', jsonb_build_object('version', (v_last ->> 'version')::bigint, 'id', v_last -> 'id',
                                   'horizon', v_horizon),
      'has_more', true,
      'server_version', v_server,
      'epoch', v_epoch,
      'reset', false,
      'last_mutation_id', v_acked);
  end if;
  return jsonb_build_object(
    'rows', v_rows,
    -- The end of a pull: the cursor is at V >= min_version, so no horizon is needed any more.
    'cursor', jsonb_build_object('version', v_server, 'id', null, 'horizon', null),
    'has_more', false,
    'server_version', v_server,
    'epoch', v_epoch,
    'reset', false,
    'last_mutation_id', v_acked);
end;
$$;
revoke all on function public.sync_pull(bigint, uuid, integer, uuid, uuid, bigint) from public, anon;
grant execute on function public.sync_pull(bigint, uuid, integer, uuid, uuid, bigint) to authenticated;

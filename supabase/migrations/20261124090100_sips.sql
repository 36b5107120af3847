-- mftrack hosted schema, part 2: the SIP record (docs/architecture.md "The SIP record"), as a
-- synced table. This file is also the template for adding another synced table: standard
-- columns (id, user_id, ..., updated_at, deleted, version), CHECK constraints,
-- private.register_synced_table(), RLS policies per command, explicit grants.

-- ---------------------------------------------------------------------------------------------
-- Validators for the two JSON list columns (used by CHECK constraints, so they are immutable
-- and never raise: bad input is `false`, which surfaces as SQLSTATE 23514).
-- ---------------------------------------------------------------------------------------------

-- A 'YYYY-MM-DD' string that is a real calendar date, else null. Never raises (nested CASEs fix
-- the evaluation order, which AND does not guarantee).
create function private.iso_date_or_null(p jsonb) returns date
  language sql
  immutable
  set search_path = ''
as $$
  select case
    when jsonb_typeof(p) is distinct from 'string' or (p #>> '{}') !~ '^\d{4}-\d{2}-\d{2}$' then null
    else (
      select case
        when y >= 1 and mo between 1 and 12 then
          case
            when dd between 1 and extract(day from make_date(y, mo, 1) + interval '1 month - 1 day')::int
            then make_date(y, mo, dd)
          end
      end
      from (select substr(p #>> '{}', 1, 4)::int as y,
                   substr(p #>> '{}', 6, 2)::int as mo,
                   substr(p #>> '{}', 9, 2)::int as dd) as parts)
  end
$$;

-- pauses: [{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD" | null}, ...], end >= start; a missing
-- "end" means open-ended.
create function private.valid_pauses(p jsonb) returns boolean
  language sql
  immutable
  set search_path = ''
as $$
  select jsonb_typeof(p) = 'array'
     and not exists (
       select 1
         from jsonb_array_elements(p) as e
        where jsonb_typeof(e) <> 'object'
           or private.iso_date_or_null(e -> 'start') is null
           or (coalesce(jsonb_typeof(e -> 'end'), 'null') <> 'null'
               and coalesce(private.iso_date_or_null(e -> 'end')
                              < private.iso_date_or_null(e -> 'start'), true)))
$$;

-- A positive rupee amount with at most 12 integer digits and 2 decimals (trailing zeros
-- allowed), given as a JSON string or number.
create function private.valid_money(p jsonb) returns boolean
  language sql
  immutable
  set search_path = ''
as $$
  select case
    when jsonb_typeof(p) not in ('string', 'number') then false
    when (p #>> '{}') !~ '^\d{1,12}(\.\d+)?$' then false
    else (p #>> '{}')::numeric > 0 and scale(trim_scale((p #>> '{}')::numeric)) <= 2
  end
$$;

-- amount_changes: [{"effective": "YYYY-MM-DD", "amount": "5000"}, ...]. Equal dates are allowed
-- (the later entry wins, as in mftrack.domain.sips.governing_amount).
create function private.valid_amount_changes(p jsonb) returns boolean
  language sql
  immutable
  set search_path = ''
as $$
  select jsonb_typeof(p) = 'array'
     and not exists (
       select 1
         from jsonb_array_elements(p) as e
        where jsonb_typeof(e) <> 'object'
           or private.iso_date_or_null(e -> 'effective') is null
           or not private.valid_money(e -> 'amount'))
$$;

-- CHECK constraints call these with the privileges of whoever writes the row.
revoke all on function private.iso_date_or_null(jsonb), private.valid_pauses(jsonb),
  private.valid_money(jsonb), private.valid_amount_changes(jsonb) from public, anon;
grant execute on function private.iso_date_or_null(jsonb), private.valid_pauses(jsonb),
  private.valid_money(jsonb), private.valid_amount_changes(jsonb) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- public.sips
-- ---------------------------------------------------------------------------------------------
create table public.sips (
  id uuid primary key default gen_random_uuid(),   -- normally client-generated (uuid4)
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  scheme_code integer not null,                    -- AMFI scheme code
  amount numeric(14, 2) not null,                  -- rupees per instalment
  start_date date not null,                        -- first instalment: first SIP day >= this
  sip_day smallint not null,                       -- 29-31 fall on a shorter month's last day
  end_date date,                                   -- inclusive
  step_up_kind text,                               -- yearly step-up: 'amount' | 'percent'
  step_up_value numeric,                           -- rupees, or percent
  pauses jsonb not null default '[]'::jsonb,
  amount_changes jsonb not null default '[]'::jsonb,
  label text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),   -- stamped by the version trigger
  deleted boolean not null default false,          -- tombstone; rows are never hard-deleted by users
  version bigint not null default 0,               -- stamped by the version trigger (per user)
  constraint sips_scheme_code_check check (scheme_code > 0),
  constraint sips_amount_check check (amount > 0 and amount <> 'NaN'::numeric),
  constraint sips_sip_day_check check (sip_day between 1 and 31),
  constraint sips_start_date_check check (start_date between date '1900-01-01' and date '2999-12-31'),
  constraint sips_end_date_check check (end_date is null or (end_date >= start_date
                                                            and end_date <= date '2999-12-31')),
  -- (written with CASE/coalesce so that a NULL never lets a row through: CHECK passes on NULL)
  constraint sips_step_up_check check (
    case
      when step_up_kind is null then step_up_value is null
      when step_up_kind = 'amount' then coalesce(step_up_value > 0 and step_up_value < 1e12
                                                 and scale(trim_scale(step_up_value)) <= 2, false)
      when step_up_kind = 'percent' then coalesce(step_up_value > 0 and step_up_value <= 100, false)
      else false
    end),
  constraint sips_pauses_check check (private.valid_pauses(pauses)),
  constraint sips_amount_changes_check check (private.valid_amount_changes(amount_changes)),
  constraint sips_label_check check (label is null or char_length(label) <= 500)
);
comment on table public.sips is 'mftrack SIP records (synced; see docs/hosted-schema.md).';

-- Serves the RLS filter, the pull's keyset paging ((version, id) > cursor) and the FK cascade.
create index sips_user_version_id_idx on public.sips (user_id, version, id);
-- Lets purge_tombstones() find old tombstones without scanning live rows.
create index sips_tombstones_idx on public.sips (updated_at) where deleted;

do $$ begin perform private.register_synced_table('public.sips'); end $$;

alter table public.sips enable row level security;
create policy sips_select_own on public.sips
  for select to authenticated using ((select auth.uid()) = user_id);
create policy sips_insert_own on public.sips
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy sips_update_own on public.sips
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);
-- No delete policy and no DELETE grant: removal is a tombstone (deleted = true).

revoke all on public.sips from public, anon, authenticated;
grant select, insert, update on public.sips to authenticated;
grant all on public.sips to service_role;

-- mftrack hosted schema, part 4: the product's own API on the hosted side: create_sip and the
-- per-scheme SIP summary (view and RPC). All security invoker: RLS decides what a user sees.
--
-- The server knows the SIP plans but not NAVs, so it reports the *scheduled* instalments and
-- rupee amounts, not units or market value; the CLI computes those locally from AMFI NAVs.

-- ---------------------------------------------------------------------------------------------
-- create_sip: insert one SIP for the signed-in user; returns the row as sync_pull shows it.
-- ---------------------------------------------------------------------------------------------
create function public.create_sip(
  p_scheme_code integer,
  p_amount numeric,
  p_start_date date,
  p_sip_day integer default null,          -- default: the day of p_start_date
  p_end_date date default null,
  p_step_up_kind text default null,
  p_step_up_value numeric default null,
  p_label text default null,
  p_pauses jsonb default '[]'::jsonb,
  p_amount_changes jsonb default '[]'::jsonb,
  p_id uuid default null                   -- default: a new random uuid
) returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_id uuid;
  v_row jsonb;
begin
  if auth.uid() is null then
    raise exception using errcode = '42501', message = 'create_sip requires a signed-in user';
  end if;
  -- numeric(14,2) would silently round; refuse instead.
  if scale(trim_scale(p_amount)) > 2 then
    raise exception using errcode = '22023', message = 'p_amount allows at most 2 decimal places';
  end if;
  insert into public.sips (id, scheme_code, amount, start_date, sip_day, end_date,
                           step_up_kind, step_up_value, pauses, amount_changes, label)
  values (coalesce(p_id, gen_random_uuid()), p_scheme_code, p_amount, p_start_date,
          coalesce(p_sip_day, extract(day from p_start_date)::int), p_end_date,
          p_step_up_kind, p_step_up_value, coalesce(p_pauses, '[]'::jsonb),
          coalesce(p_amount_changes, '[]'::jsonb), p_label)
  returning id into v_id;
  execute format('select %s from public.sips as t where t.id = $1',
                 private.sync_row_json_sql('sips', private.sync_table_meta()))
    into v_row
    using v_id;
  return v_row;
end;
$$;
revoke all on function public.create_sip(integer, numeric, date, integer, date, text, numeric,
  text, jsonb, jsonb, uuid) from public, anon;
grant execute on function public.create_sip(integer, numeric, date, integer, date, text, numeric,
  text, jsonb, jsonb, uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- The schedule rules, the same as the CLI's mftrack/domain/sips.py and calendar.py:
--   * one instalment a month on sip_day (29-31 -> the month's last day when shorter), the first
--     on or after start_date, the last on or before end_date (inclusive) and as_of;
--   * instalments due inside a pause [start, end] (end null = open-ended) are skipped;
--   * the amount in force is the latest amount_changes entry effective on or before the due
--     date (on equal dates the later entry in the list), else `amount`;
--   * a yearly step-up applies once per full year since that change's effective date (or
--     start_date, whichever is later), or since start_date: +value rupees a year ('amount'), or
--     x (1 + value/100) a year, each year rounded to the whole rupee half up ('percent').
--     No mandate cap is modelled.
-- The due date is the plan date; a holiday instalment is processed on the next business day,
-- which only the CLI (with AMFI's NAV calendar) knows.
-- ---------------------------------------------------------------------------------------------

-- Full years (anniversaries) from p_start to p_end, 0 if none; a 29 Feb anniversary falls on
-- 1 Mar in common years (mftrack.domain.calendar.years_between).
create function private.years_between(p_start date, p_end date) returns integer
  language sql
  immutable
  set search_path = ''
as $$
  select greatest(
    extract(year from p_end)::int - extract(year from p_start)::int
      - case when (extract(month from p_end), extract(day from p_end))
                  < (extract(month from p_start), extract(day from p_start))
             then 1 else 0 end,
    0)
$$;

-- The amount after p_years yearly step-ups (mftrack.domain.sips.stepped_amount).
create function private.stepped_amount(p_base numeric, p_kind text, p_value numeric,
                                       p_years integer) returns numeric
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_amount numeric := p_base;
begin
  if p_kind is null or p_value is null or p_years <= 0 then
    return p_base;
  end if;
  if p_kind = 'amount' then
    return p_base + p_value * p_years;
  end if;
  for i in 1 .. p_years loop
    v_amount := round(v_amount * (1 + p_value / 100), 0);  -- numeric round: half away from 0
  end loop;
  return v_amount;
end;
$$;

-- The caller's scheduled instalments due on or before p_as_of.
create function private.sip_schedule(p_as_of date)
  returns table (sip_id uuid, scheme_code integer, instalment integer, due_date date,
                 amount numeric)
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  select s.id,
         s.scheme_code,
         (row_number() over (partition by s.id order by d.due_date))::int,
         d.due_date,
         private.stepped_amount(b.base, s.step_up_kind, s.step_up_value,
                                private.years_between(b.since, d.due_date))
    from public.sips as s
    cross join lateral (
      select make_date(extract(year from m)::int, extract(month from m)::int,
                       least(s.sip_day::int,
                             extract(day from m + interval '1 month - 1 day')::int)) as due_date
        from generate_series(date_trunc('month', s.start_date::timestamp),
                             date_trunc('month', least(coalesce(s.end_date, p_as_of), p_as_of)::timestamp),
                             interval '1 month') as m
    ) as d
    cross join lateral (
      select coalesce(c.amount, s.amount) as base,
             greatest(coalesce(c.effective, s.start_date), s.start_date) as since
        from (select 1) as one
        left join lateral (
          select (e.value ->> 'amount')::numeric as amount,
                 (e.value ->> 'effective')::date as effective
            from jsonb_array_elements(s.amount_changes) with ordinality as e (value, n)
           where (e.value ->> 'effective')::date <= d.due_date
           order by (e.value ->> 'effective')::date desc, e.n desc
           limit 1
        ) as c on true
    ) as b
   where s.user_id = (select auth.uid())
     and not s.deleted
     and d.due_date >= s.start_date
     and d.due_date <= p_as_of
     and (s.end_date is null or d.due_date <= s.end_date)
     and not exists (
       select 1
         from jsonb_array_elements(s.pauses) as p
        where d.due_date >= (p ->> 'start')::date
          and (p ->> 'end' is null or d.due_date <= (p ->> 'end')::date))
$$;

-- Per scheme_code, as of a date. Stamp duty (domain-rules.md F1): 0.005% of the amount paid,
-- taken out of it (amount x 0.005/100.005, rounded to paise per instalment), on instalments
-- due from 2020-07-01. net_invested = invested - stamp_duty is what buys units.
create function private.sip_summary_rows(p_as_of date)
  returns table (scheme_code integer, sips integer, active_sips integer, instalments integer,
                 first_due date, last_due date, invested numeric, stamp_duty numeric,
                 net_invested numeric)
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  with plans as (
    select s.scheme_code,
           count(*)::int as sips,
           (count(*) filter (
              where s.start_date <= p_as_of
                and (s.end_date is null or s.end_date >= p_as_of)
                and not exists (
                  select 1 from jsonb_array_elements(s.pauses) as p
                   where p_as_of >= (p ->> 'start')::date
                     and (p ->> 'end' is null or p_as_of <= (p ->> 'end')::date))))::int
             as active_sips
      from public.sips as s
     where s.user_id = (select auth.uid()) and not s.deleted
     group by s.scheme_code
  ), due as (
    select i.scheme_code,
           count(*)::int as instalments,
           min(i.due_date) as first_due,
           max(i.due_date) as last_due,
           sum(i.amount) as invested,
           sum(case when i.due_date >= date '2020-07-01'
                    then round(i.amount * 0.005 / 100.005, 2) else 0 end) as stamp_duty
      from private.sip_schedule(p_as_of) as i
     group by i.scheme_code
  )
  select p.scheme_code, p.sips, p.active_sips,
         coalesce(d.instalments, 0), d.first_due, d.last_due,
         coalesce(d.invested, 0)::numeric(16, 2),
         coalesce(d.stamp_duty, 0)::numeric(16, 2),
         (coalesce(d.invested, 0) - coalesce(d.stamp_duty, 0))::numeric(16, 2)
    from plans as p
    left join due as d on d.scheme_code = p.scheme_code
$$;

revoke all on function private.years_between(date, date),
  private.stepped_amount(numeric, text, numeric, integer), private.sip_schedule(date),
  private.sip_summary_rows(date) from public, anon;
grant execute on function private.years_between(date, date),
  private.stepped_amount(numeric, text, numeric, integer), private.sip_schedule(date),
  private.sip_summary_rows(date) to authenticated;

-- The view: as of today's date in India (Asia/Kolkata). security_invoker (PG15+) makes the view
-- run with the caller's rights, so RLS on public.sips applies.
create view public.sip_summary with (security_invoker = true) as
  select r.*
    from private.sip_summary_rows((now() at time zone 'Asia/Kolkata')::date) as r;
comment on view public.sip_summary is
  'Per-scheme SIP totals of the signed-in user as of today in India (mftrack).';
revoke all on public.sip_summary from public, anon, authenticated;
grant select on public.sip_summary to authenticated;

-- The RPC: any as-of date (default: today in India), money as strings.
create function public.sip_summary(p_as_of date default null) returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_as_of date := coalesce(p_as_of, (now() at time zone 'Asia/Kolkata')::date);
begin
  if auth.uid() is null then
    raise exception using errcode = '42501', message = 'sip_summary requires a signed-in user';
  end if;
  return jsonb_build_object(
    'as_of', v_as_of,
    'schemes', coalesce((
      select jsonb_agg(jsonb_build_object(
               'scheme_code', r.scheme_code,
               'sips', r.sips,
               'active_sips', r.active_sips,
               'instalments', r.instalments,
               'first_due', r.first_due,
               'last_due', r.last_due,
               'invested', r.invested::text,
               'stamp_duty', r.stamp_duty::text,
               'net_invested', r.net_invested::text) order by r.scheme_code)
        from private.sip_summary_rows(v_as_of) as r), '[]'::jsonb));
end;
$$;
revoke all on function public.sip_summary(date) from public, anon;
grant execute on function public.sip_summary(date) to authenticated;

-- Tell PostgREST to reload its schema cache (hosted Supabase also does this on DDL itself).
notify pgrst, 'reload schema';

-- mftrack hosted schema, part 8: the transaction ledger (issue 11 part 5) as a synced table,
-- made by the one-migration recipe of docs/hosted-schema.md "Adding another synced table":
-- standard sync columns, CHECKs, private.register_synced_table() (version trigger; listed for
-- sync_push / sync_pull / sync_fetch / purge_tombstones), RLS per command, explicit grants,
-- every new private function revoked by signature. Plus, as for SIPs, a per-account limit
-- (20261205090200_limits.sql) and the hosted summary taught the ledger.
--
-- The record is mftrack.domain.txn_record (the same shape as the local `transactions` table,
-- local migration 0003); conventions in mftrack/domain/transactions.py: amounts and units are
-- positive, a sale always carries its units.

-- ---------------------------------------------------------------------------------------------
-- public.transactions
-- ---------------------------------------------------------------------------------------------
create table public.transactions (
  id uuid primary key default gen_random_uuid(),   -- normally client-generated (uuid4)
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  scheme_code integer not null,                    -- AMFI scheme code
  kind text not null,                              -- mftrack.domain.transactions.TxnKind
  trade_date date not null,                        -- the allotment / redemption (NAV) date
  -- Decimals without a typmod keep the text the device sent ("5000" stays "5000"), so a
  -- record pulled back equals the one pushed; the CHECKs bound scale and size instead.
  amount numeric,                                  -- rupees: paid (buys, incl. stamp duty) or received
  units numeric,                                   -- as the statement gives them (F5)
  nav numeric,
  stamp_duty numeric,                              -- the duty inside `amount` (F1)
  stt numeric,                                     -- STT withheld on a sale (F6)
  folio text,
  sip_id uuid,                                     -- the SIP an instalment belongs to (no FK: a
                                                   -- SIP may be purged, or pushed after it)
  link_id uuid,                                    -- shared by the two legs of a switch / merger
  source text not null default 'manual',           -- mftrack.domain.transactions.TxnSource
  import_key text,                                 -- what makes a re-import a no-op
  note text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),   -- stamped by the version trigger
  deleted boolean not null default false,          -- tombstone; rows are never hard-deleted by users
  version bigint not null default 0,               -- stamped by the version trigger (per user)
  constraint transactions_scheme_code_check check (scheme_code > 0),
  constraint transactions_kind_check check (kind in (
    'purchase', 'sip', 'redemption', 'switch_in', 'switch_out', 'dividend_payout',
    'dividend_reinvest', 'sip_failed', 'merger_out', 'merger_in')),
  constraint transactions_source_check check (source in ('manual', 'cas', 'csv')),
  constraint transactions_trade_date_check
    check (trade_date between date '1900-01-01' and date '2999-12-31'),
  -- (`x < 1e12` is false for NaN and Infinity, which numeric accepts; money in paise)
  constraint transactions_amount_check check (amount is null or (
    amount > 0 and amount < 1e12 and scale(trim_scale(amount)) <= 2)),
  constraint transactions_stamp_duty_check check (stamp_duty is null or (
    stamp_duty >= 0 and stamp_duty < 1e12 and scale(trim_scale(stamp_duty)) <= 2)),
  constraint transactions_stt_check check (stt is null or (
    stt >= 0 and stt < 1e12 and scale(trim_scale(stt)) <= 2)),
  constraint transactions_units_check check (units is null or (
    units > 0 and units < 1e12 and scale(trim_scale(units)) <= 10)),
  constraint transactions_nav_check check (nav is null or (
    nav > 0 and nav < 1e12 and scale(trim_scale(nav)) <= 10)),
  -- A sale always carries its units (FIFO needs them; mftrack/domain/transactions.py).
  -- Tombstones are exempt, like the limits of SIPs.
  constraint transactions_sale_units_check
    check (deleted or units is not null or kind not in ('redemption', 'switch_out')),
  constraint transactions_folio_check check (folio is null or char_length(folio) <= 500),
  constraint transactions_import_key_check
    check (import_key is null or char_length(import_key) between 1 and 500),
  constraint transactions_note_check check (note is null or char_length(note) <= 1000)
);
comment on table public.transactions is
  'mftrack transaction ledger (synced; see docs/hosted-schema.md).';

-- Serves the RLS filter, the pull's keyset paging ((version, id) > cursor) and the FK cascade.
create index transactions_user_version_id_idx on public.transactions (user_id, version, id);
-- Lets purge_tombstones() find old tombstones without scanning live rows.
create index transactions_tombstones_idx on public.transactions (updated_at) where deleted;
-- One row per import key and account, tombstones included: the same as the local unique index
-- (migration 0003), so every row a device pulls fits its database. Two devices importing the
-- same statement: the second push of a key is rejected (23505) and that device takes the
-- first one's row with the pull (docs/sync.md "Dead letters").
create unique index transactions_user_import_key_idx
  on public.transactions (user_id, import_key) where import_key is not null;

do $$ begin perform private.register_synced_table('public.transactions'); end $$;

alter table public.transactions enable row level security;
create policy transactions_select_own on public.transactions
  for select to authenticated using ((select auth.uid()) = user_id);
create policy transactions_insert_own on public.transactions
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy transactions_update_own on public.transactions
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);
-- No delete policy and no DELETE grant: removal is a tombstone (deleted = true).

revoke all on public.transactions from public, anon, authenticated;
grant select, insert, update on public.transactions to authenticated;
grant all on public.transactions to service_role;

-- ---------------------------------------------------------------------------------------------
-- Live transactions per user: at most 100,000 (40 times a 10-year statement of 20 schemes,
-- about 2,500 rows; mftrack/services/limits.py has the same number). Counted in a per-user
-- counter rather than with count(*) as for SIPs: at this size a count per inserted row would
-- cost a push of 200 rows seconds. The counter is changed under the user's sync_state row lock
-- (transactions_bump_version fires first: triggers fire in name order), so concurrent pushes
-- cannot overshoot, and in the writing (sub)transaction, so a refused row changes nothing.
-- ---------------------------------------------------------------------------------------------
create table private.transaction_counts (
  user_id uuid primary key references auth.users (id) on delete cascade,
  live integer not null default 0
);
alter table private.transaction_counts enable row level security;  -- no policies: owner only
revoke all on private.transaction_counts from public, anon, authenticated, service_role;

create function private.transactions_limit_per_user() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_delta integer;
  v_live integer;
begin
  v_delta := case tg_op
    when 'INSERT' then (not new.deleted)::int
    when 'UPDATE' then (not new.deleted)::int - (not old.deleted)::int
    else -(not old.deleted)::int
  end;
  if v_delta > 0 then
    insert into private.transaction_counts (user_id) values (new.user_id)
      on conflict (user_id) do nothing;
  end if;
  -- A negative change never inserts: an account being deleted cascades here after its
  -- counter row may already be gone.
  if v_delta <> 0 then
    update private.transaction_counts
       set live = greatest(live + v_delta, 0)
     where user_id = coalesce(new.user_id, old.user_id)
    returning live into v_live;
    if v_delta > 0 and v_live > 100000 then
      raise exception using
        errcode = '23514',
        message = 'too many transactions: an account keeps at most 100000 (remove some first)';
    end if;
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end;
$$;
-- A trigger function: EXECUTE is not checked when it fires; nobody calls it directly.
revoke all on function private.transactions_limit_per_user()
  from public, anon, authenticated, service_role;
create trigger transactions_limit_per_user before insert or update or delete
  on public.transactions
  for each row execute function private.transactions_limit_per_user();

-- ---------------------------------------------------------------------------------------------
-- The hosted summary, taught the ledger. Per scheme_code: the SIP plan's columns as before
-- (scheduled instalments and amounts), and beside them the recorded transactions (live ones):
--   transactions   how many
--   paid_in        Σ amount of purchases, SIP instalments and switch-ins (IDCW reinvested is
--                  not paid in: no cash moved; the CLI's `paid_in` counts the same rows)
--   withdrawn      Σ amount of redemptions, switch-outs and IDCW payouts
--   units_in       Σ units of the kinds that add units (BUYS, and a merger's in-leg)
--   units_out      Σ units of sales and a merger's out-leg
--   unpriced_buys  purchases recorded without units (the CLI estimates them from NAVs)
--   first_trade, last_trade
-- The server does not merge the two (a confirmed instalment replacing its estimate): that
-- match needs the CLI's rules and AMFI's calendar (docs/hosted-schema.md).
-- ---------------------------------------------------------------------------------------------
drop view public.sip_summary;
drop function private.sip_summary_rows(date);

create function private.sip_summary_rows(p_as_of date)
  returns table (scheme_code integer, sips integer, active_sips integer, instalments integer,
                 first_due date, last_due date, invested numeric, stamp_duty numeric,
                 net_invested numeric, transactions integer, paid_in numeric,
                 withdrawn numeric, units_in numeric, units_out numeric,
                 unpriced_buys integer, first_trade date, last_trade date)
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
  ), ledger as (
    select t.scheme_code,
           count(*)::int as transactions,
           coalesce(sum(t.amount) filter (
             where t.kind in ('purchase', 'sip', 'switch_in')), 0) as paid_in,
           coalesce(sum(t.amount) filter (
             where t.kind in ('redemption', 'switch_out', 'dividend_payout')), 0) as withdrawn,
           coalesce(sum(t.units) filter (
             where t.kind in ('purchase', 'sip', 'switch_in', 'dividend_reinvest',
                              'merger_in')), 0) as units_in,
           coalesce(sum(t.units) filter (
             where t.kind in ('redemption', 'switch_out', 'merger_out')), 0) as units_out,
           (count(*) filter (
             where t.units is null
               and t.kind in ('purchase', 'sip', 'switch_in', 'dividend_reinvest')))::int
             as unpriced_buys,
           min(t.trade_date) as first_trade,
           max(t.trade_date) as last_trade
      from public.transactions as t
     where t.user_id = (select auth.uid()) and not t.deleted and t.trade_date <= p_as_of
     group by t.scheme_code
  )
  select coalesce(p.scheme_code, l.scheme_code),
         coalesce(p.sips, 0), coalesce(p.active_sips, 0),
         coalesce(d.instalments, 0), d.first_due, d.last_due,
         coalesce(d.invested, 0)::numeric(16, 2),
         coalesce(d.stamp_duty, 0)::numeric(16, 2),
         (coalesce(d.invested, 0) - coalesce(d.stamp_duty, 0))::numeric(16, 2),
         coalesce(l.transactions, 0),
         coalesce(l.paid_in, 0)::numeric(16, 2),
         coalesce(l.withdrawn, 0)::numeric(16, 2),
         coalesce(l.units_in, 0), coalesce(l.units_out, 0),
         coalesce(l.unpriced_buys, 0), l.first_trade, l.last_trade
    from plans as p
    left join due as d on d.scheme_code = p.scheme_code
    full join ledger as l on l.scheme_code = p.scheme_code
$$;
revoke all on function private.sip_summary_rows(date) from public, anon, authenticated, service_role;
grant execute on function private.sip_summary_rows(date) to authenticated;

create view public.sip_summary with (security_invoker = true) as
  select r.*
    from private.sip_summary_rows((now() at time zone 'Asia/Kolkata')::date) as r;
comment on view public.sip_summary is
  'Per-scheme SIP plan and recorded transactions of the signed-in user as of today in India '
  '(mftrack).';
revoke all on public.sip_summary from public, anon, authenticated;
grant select on public.sip_summary to authenticated;

create or replace function public.sip_summary(p_as_of date default null) returns jsonb
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
               'net_invested', r.net_invested::text,
               'transactions', r.transactions,
               'paid_in', r.paid_in::text,
               'withdrawn', r.withdrawn::text,
               'units_in', r.units_in::text,
               'units_out', r.units_out::text,
               'unpriced_buys', r.unpriced_buys,
               'first_trade', r.first_trade,
               'last_trade', r.last_trade) order by r.scheme_code)
        from private.sip_summary_rows(v_as_of) as r), '[]'::jsonb));
end;
$$;
-- create or replace keeps the function's privileges; stated again.
revoke all on function public.sip_summary(date) from public, anon;
grant execute on function public.sip_summary(date) to authenticated;

-- Tell PostgREST to reload its schema cache (hosted Supabase also does this on DDL itself).
notify pgrst, 'reload schema';

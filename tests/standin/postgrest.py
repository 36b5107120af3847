"""The PostgREST part of the stand-in: ``/rest/v1/rpc/<fn>`` and a small ``/rest/v1/<table>``
subset (contract A.6, A.7 item 3).

Each request runs as PostgREST runs it: verify the JWT, then ONE transaction (READ ONLY for
GET and for STABLE/IMMUTABLE functions) that first sets ``search_path``, the role's own
settings (e.g. ``statement_timeout``), ``role``, ``request.jwt.claims``, ``request.method``,
``request.path`` and ``request.headers`` with ``set_config(..., true)``, then runs the main
query, then COMMITs. So the app's RLS policies and ``auth.uid()`` run unchanged. Errors come
back as PostgREST's four-key body with its SQLSTATE-to-HTTP mapping.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from . import jwtutil
from .db import PoolTimeout
from .http import Req, Resp

if TYPE_CHECKING:
    from .server import StandIn

SCHEMA = "public"
ANON_ROLE = "anon"
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
SINGLE_OBJECT = "application/vnd.pgrst.object+json"


@dataclass
class RestSettings:
    version: int = 13  # 12: every JWT failure is PGRST301; 13+: claim failures are PGRST303
    jwt_leeway: float = 30.0
    jwt_aud: str | None = None
    max_rows: int | None = 1000  # hosted Supabase "Max rows"; None = unlimited
    pool_timeout: float = 10.0


class RestError(Exception):
    def __init__(self, status: int, code: str | None, message: str, details: Any = None,
                 hint: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "details": details, "hint": hint, "message": message}
        self.headers = headers or {}

    def response(self) -> Resp:
        return Resp(self.status, self.body, {**JSON_HEADERS, **self.headers})


@dataclass
class Caller:
    role: str
    claims: dict[str, Any]
    authed: bool  # PostgREST: a JWT whose role is not the anonymous role


@dataclass
class Param:
    name: str
    type: str
    has_default: bool
    variadic: bool = False


@dataclass
class Function:
    name: str
    params: list[Param]
    volatility: str  # 'v', 's', 'i'
    returns_set: bool
    returns_void: bool
    signature: str = ""

    @property
    def single_unnamed_json(self) -> bool:
        return (len(self.params) == 1 and self.params[0].name == ""
                and self.params[0].type in ("json", "jsonb"))


@dataclass
class Table:
    name: str
    columns: list[str]
    primary_key: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------- errors


def sqlstate_status(state: str | None, message: str, authed: bool) -> int:
    """PostgREST ``pgErrorStatus`` (Error.hs) / docs errors.rst."""
    if not state:
        return 500
    exact = {
        "23503": 409, "23505": 409, "25006": 405, "42883": 404, "42P01": 404, "42P17": 500,
        "53400": 500, "57P01": 503, "P0001": 400,
    }
    if state == "42501":
        return 403 if authed else 401
    if state == "22023" and re.search(r'role ".*" does not exist', message):
        return 401
    if state in exact:
        return exact[state]
    if state.startswith("PT"):
        try:
            return int(state[2:])
        except ValueError:
            return 500
    prefixes = {
        "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500,
        "38": 500, "39": 500, "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500,
        "57": 500, "58": 500, "F0": 500, "HV": 500, "P0": 500, "XX": 500,
    }
    return prefixes.get(state[:2], 400)


def pg_error_response(exc: psycopg.Error, authed: bool) -> Resp:
    diag = exc.diag
    state = exc.sqlstate
    message = diag.message_primary or str(exc).strip()
    details = diag.message_detail
    hint = diag.message_hint
    if state == "PGRST":
        # RAISE SQLSTATE 'PGRST' USING MESSAGE = '{"code":..,"message":..}',
        #                         DETAIL = '{"status":..,"headers":{..}}'
        try:
            body = json.loads(message)
            meta = json.loads(details or "{}")
            status = int(meta.get("status", 400))
            headers = {str(k): str(v) for k, v in (meta.get("headers") or {}).items()}
            out = {"code": body.get("code"), "details": body.get("details"),
                   "hint": body.get("hint"), "message": body.get("message")}
            return Resp(status, out, {**JSON_HEADERS, **headers})
        except (ValueError, TypeError, AttributeError):
            return RestError(500, "PGRST121",
                             "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
                             details=message).response()
    if state is None:
        return RestError(503, "PGRST001", "Database client error. Retrying the connection.",
                         details=str(exc).strip()).response()
    status = sqlstate_status(state, message, authed)
    headers = dict(JSON_HEADERS)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Resp(status, {"code": state, "details": details, "hint": hint, "message": message},
                headers)


# ------------------------------------------------------------------------ filter parsing

OPERATORS = {
    "eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "like",
    "ilike": "ilike", "match": "~", "imatch": "~*", "cs": "@>", "cd": "<@", "ov": "&&",
    "is": "is", "in": "in",
}
RESERVED = {"select", "order", "limit", "offset", "on_conflict", "columns", "apikey"}


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside parentheses and double quotes."""
    parts, current, depth, quoted, escaped = [], [], 0, False, False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
            continue
        if ch == "\\" and quoted:
            current.append(ch)
            escaped = True
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == sep:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _parse_error(text: str) -> RestError:
    return RestError(400, "PGRST100", f'"failed to parse filter ({text})" (line 1, column 1)',
                     details="unexpected end of input or unknown operator")


class FilterBuilder:
    def __init__(self, table: Table, qualifier: str | None = None) -> None:
        self.table = table
        self.qualifier = qualifier

    def column(self, name: str) -> sql.Composable:
        if name not in self.table.columns:
            raise RestError(400, "42703", f"column {self.table.name}.{name} does not exist")
        if self.qualifier:
            return sql.Identifier(self.qualifier, name)
        return sql.Identifier(name)

    def condition(self, column: str, expr: str) -> tuple[sql.Composable, list[Any]]:
        negate = False
        if expr.startswith("not."):
            negate, expr = True, expr[4:]
        op, dot, value = expr.partition(".")
        if not dot or op not in OPERATORS:
            raise _parse_error(f"{column}={expr}")
        col = self.column(column)
        params: list[Any] = []
        if op == "is":
            keyword = {"null": "null", "true": "true", "false": "false",
                       "unknown": "unknown", "not_null": "not null"}.get(value.lower())
            if keyword is None:
                raise _parse_error(f"{column}={expr}")
            clause = sql.SQL("{} is " + keyword).format(col)
        elif op == "in":
            if not (value.startswith("(") and value.endswith(")")):
                raise _parse_error(f"{column}={expr}")
            items = [_unquote(v) for v in _split_top(value[1:-1])] if value[1:-1] else []
            if not items:
                clause = sql.SQL("false")
            else:
                clause = sql.SQL("{} in ({})").format(
                    col, sql.SQL(", ").join(sql.Placeholder() for _ in items))
                params.extend(items)
        else:
            value = _unquote(value)
            if op in ("like", "ilike"):
                value = value.replace("*", "%")
            clause = sql.SQL("{} " + OPERATORS[op] + " {}").format(col, sql.Placeholder())
            params.append(value)
        if negate:
            clause = sql.SQL("not ({})").format(clause)
        return clause, params

    def logic(self, op: str, body: str, negate: bool) -> tuple[sql.Composable, list[Any]]:
        if not (body.startswith("(") and body.endswith(")")):
            raise _parse_error(f"{op}={body}")
        parts: list[sql.Composable] = []
        params: list[Any] = []
        for item in _split_top(body[1:-1]):
            item = item.strip()
            match = re.match(r"^(not\.)?(and|or)(\(.*\))$", item, re.S)
            if match:
                clause, p = self.logic(match[2], match[3], bool(match[1]))
            else:
                column, dot, rest = item.partition(".")
                if not dot:
                    raise _parse_error(item)
                clause, p = self.condition(column, rest)
            parts.append(clause)
            params.extend(p)
        if not parts:
            raise _parse_error(f"{op}={body}")
        joined = sql.SQL(f" {op} ").join(sql.SQL("({})").format(p) for p in parts)
        if negate:
            joined = sql.SQL("not ({})").format(joined)
        return sql.SQL("({})").format(joined), params

    def where(self, items: list[tuple[str, str]]) -> tuple[sql.Composable | None, list[Any]]:
        clauses: list[sql.Composable] = []
        params: list[Any] = []
        for key, value in items:
            if key in RESERVED:
                continue
            match = re.match(r"^(not\.)?(and|or)$", key)
            if match:
                clause, p = self.logic(match[2], value, bool(match[1]))
            else:
                clause, p = self.condition(key, value)
            clauses.append(clause)
            params.extend(p)
        if not clauses:
            return None, params
        return sql.SQL(" and ").join(clauses), params

    def order(self, text: str) -> sql.Composable:
        terms = []
        for term in text.split(","):
            name, *mods = term.strip().split(".")
            pieces: list[sql.Composable] = [self.column(name)]
            for mod in mods:
                keyword = {"asc": "asc", "desc": "desc", "nullsfirst": "nulls first",
                           "nullslast": "nulls last"}.get(mod)
                if keyword is None:
                    raise RestError(400, "PGRST100",
                                    f'"failed to parse order ({text})" (line 1, column 1)')
                pieces.append(sql.SQL(keyword))
            terms.append(sql.SQL(" ").join(pieces))
        return sql.SQL(", ").join(terms)


_SAFE_TYPE = re.compile(r"^[a-z_][a-z0-9_ ]*(\[\])?$")


def _select_list(table: Table, text: str) -> sql.Composable:
    items = []
    for raw in _split_top(text or "*"):
        item = raw.strip()
        if not item:
            continue
        if item == "*":
            items.append(sql.SQL("*"))
            continue
        if "(" in item:
            raise RestError(400, "PGRST100",
                            "Resource embedding is not supported by the mftrack stand-in",
                            details=item)
        alias = None
        if ":" in item and "::" not in item.split(":", 1)[0] + ":":
            alias, item = item.split(":", 1)
        cast = None
        if "::" in item:
            item, cast = item.split("::", 1)
            if not _SAFE_TYPE.match(cast):
                raise RestError(400, "PGRST100", f"invalid cast {cast!r}")
        if item not in table.columns:
            raise RestError(400, "42703", f"column {table.name}.{item} does not exist")
        expr: sql.Composable = sql.Identifier(item)
        if cast:
            expr = sql.SQL("{}::{}").format(expr, sql.SQL(cast))
        if alias or cast:
            expr = sql.SQL("{} as {}").format(expr, sql.Identifier(alias or item))
        items.append(expr)
    return sql.SQL(", ").join(items) if items else sql.SQL("*")


def _prefer(req: Req) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in (req.header("prefer") or "").split(","):
        key, _, val = value.strip().partition("=")
        if key:
            out[key.strip()] = val.strip()
    return out


def _int_param(req: Req, name: str) -> int | None:
    value = req.query.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise RestError(400, "PGRST100", f'"failed to parse {name} ({value})"') from exc
    return number


def _columns_param(text: str) -> list[str]:
    return [_unquote(c.strip()) for c in _split_top(text) if c.strip()]


# ----------------------------------------------------------------------------- service


class PostgREST:
    def __init__(self, standin: StandIn) -> None:
        self.s = standin
        self.settings = RestSettings()
        self.role_settings: dict[str, list[tuple[str, str]]] = {}

    # -------------------------------------------------------------------------- plumbing

    def reload_schema(self) -> None:
        """Reload the per-role settings (``alter role ... set``) PostgREST caches."""
        rows = self.s.sql(
            """
            select r.rolname, unnest(s.setconfig)
            from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
            where s.setdatabase in (0, (select oid from pg_database
                                        where datname = current_database()))
            order by s.setdatabase
            """
        )
        settings: dict[str, dict[str, str]] = {}
        for role, item in rows:
            key, _, value = item.partition("=")
            settings.setdefault(role, {})[key] = value
        self.role_settings = {role: list(kv.items()) for role, kv in settings.items()}

    def handle(self, kind: str, req: Req) -> Resp:
        try:
            self._check_profile(req)
            caller = self.authenticate(req)
            if kind == "rpc":
                return self.rpc(req, caller)
            if kind == "root":
                return Resp(200, {"swagger": "2.0", "info": {"title": "mftrack stand-in"}},
                            JSON_HEADERS)
            return self.table(req, caller)
        except RestError as exc:
            return exc.response()
        except PoolTimeout as exc:
            return RestError(504, "PGRST003",
                             "Timed out acquiring connection from connection pool.",
                             details=str(exc)).response()
        except psycopg.OperationalError as exc:
            if exc.sqlstate:
                raise
            return RestError(503, "PGRST000", "Could not connect with the database",
                             details=str(exc).strip()).response()

    def _check_profile(self, req: Req) -> None:
        for name in ("accept-profile", "content-profile"):
            value = req.header(name)
            if value is not None and value != SCHEMA:
                raise RestError(406, "PGRST106",
                                f"The schema must be one of the following: {SCHEMA}")

    def authenticate(self, req: Req) -> Caller:
        auth = req.header("authorization")
        token: str | None = None
        if auth is not None:
            match = re.match(r"(?i)^bearer(?:\s+(.*))?$", auth.strip())
            if match:
                token = (match[1] or "").strip()
        if token is None:
            # Hosted gateway: without Authorization, the apikey (a JWT) is the credential.
            token = req.header("apikey") or req.query.get("apikey")
        if token is None:
            claims: dict[str, Any] = {"role": ANON_ROLE}
        else:
            try:
                claims = jwtutil.verify_postgrest(
                    token, self.s.verifier("rest"), self.s.clock.now(),
                    leeway=self.settings.jwt_leeway, audience=self.settings.jwt_aud)
            except jwtutil.JwtProblem as exc:
                code = ("PGRST303" if exc.kind == "claims" and self.settings.version >= 13
                        else "PGRST301")
                description = exc.message.replace('"', "'")
                raise RestError(401, code, exc.message, headers={
                    "WWW-Authenticate":
                        f'Bearer error="invalid_token", error_description="{description}"',
                }) from exc
        role = claims.get("role") or ANON_ROLE
        if not isinstance(role, str):
            raise RestError(401, "PGRST303" if self.settings.version >= 13 else "PGRST301",
                            "Parsing claims failed")
        claims = {**claims, "role": role}
        return Caller(role=role, claims=claims, authed=role != ANON_ROLE)

    def connection(self):
        return self.s.rest_pool.connection(timeout=self.settings.pool_timeout)

    def transaction(self, conn: psycopg.Connection, req: Req, caller: Caller, *,
                    read_only: bool, work: Callable[[psycopg.Connection], Resp]) -> Resp:
        conn.execute("begin isolation level read committed"
                     + (" read only" if read_only else ""))
        try:
            self._preamble(conn, req, caller)
            resp = work(conn)
            conn.execute("commit")
            return resp
        except psycopg.Error as exc:
            self._rollback(conn)
            if isinstance(exc, psycopg.OperationalError) and not exc.sqlstate:
                raise
            return pg_error_response(exc, caller.authed)
        except BaseException:
            self._rollback(conn)
            raise

    @staticmethod
    def _rollback(conn: psycopg.Connection) -> None:
        if conn.closed or conn.broken:
            return
        try:
            conn.execute("rollback")
        except psycopg.Error:
            conn.close()

    def _preamble(self, conn: psycopg.Connection, req: Req, caller: Caller) -> None:
        pieces: list[sql.Composable] = [sql.SQL("set_config('search_path', %s, true)")]
        params: list[Any] = [SCHEMA]
        for key, value in self.role_settings.get(caller.role, []):
            pieces.append(sql.SQL("set_config(%s, %s, true)"))
            params.extend([key, value])
        headers = {k: v for k, v in req.headers.items()}
        for key, value in (
            ("role", caller.role),
            ("request.jwt.claims", jwtutil.dumps(caller.claims)),
            ("request.method", req.method),
            ("request.path", req.path.removeprefix("/rest/v1")),
            ("request.headers", jwtutil.dumps(headers)),
            ("request.cookies", "{}"),
        ):
            pieces.append(sql.SQL("set_config(%s, %s, true)"))
            params.extend([key, value])
        conn.execute(sql.SQL("select ") + sql.SQL(", ").join(pieces), params)

    def _body(self, req: Req) -> Any:
        if not req.body.strip():
            return None
        try:
            return json.loads(req.body)
        except ValueError as exc:
            raise RestError(400, "PGRST102", "Empty or invalid json",
                            details=str(exc)) from exc

    # ------------------------------------------------------------------------------- RPC

    def _functions(self, conn: psycopg.Connection, name: str) -> list[Function]:
        rows = self._catalog(conn,
            """
            select p.proname, p.provolatile, p.proretset, p.prorettype = 'void'::regtype,
                   coalesce(p.proargnames, array[]::text[]),
                   coalesce(p.proargmodes::text[], array[]::text[]),
                   array(select format_type(t, null) from unnest(
                         coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality
                         as u(t, o) order by o),
                   p.pronargdefaults,
                   pg_get_function_identity_arguments(p.oid)
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = %s and p.proname = %s and p.prokind = 'f'
            """,
            [SCHEMA, name],
        )
        out = []
        for (proname, volatility, retset, is_void, names, modes, types, ndefaults,
             identity) in rows:
            inputs: list[Param] = []
            for i, typ in enumerate(types):
                mode = modes[i] if modes else "i"
                if mode not in ("i", "b", "v"):
                    continue
                argname = names[i] if i < len(names) else ""
                inputs.append(Param(argname or "", typ, False, mode == "v"))
            for param in inputs[len(inputs) - ndefaults:] if ndefaults else []:
                param.has_default = True
            out.append(Function(proname, inputs, volatility, retset, is_void, identity))
        return out

    @staticmethod
    def _catalog(conn: psycopg.Connection, query: str, params: list[Any]) -> list[Any]:
        """Catalog look-ups (PostgREST's "schema cache", read fresh for every request, on
        the request's own connection before its transaction starts)."""
        return conn.execute(query, params).fetchall()

    def _not_found(self, conn: psycopg.Connection, name: str, keys: list[str]) -> RestError:
        shown = ", ".join(keys)
        if keys:
            message = f"Could not find the function {SCHEMA}.{name}({shown}) in the schema cache"
            noun = "parameter" if len(keys) == 1 else "parameters"
            details = (f"Searched for the function {SCHEMA}.{name} with {noun} {shown} or with"
                       " a single unnamed json/jsonb parameter, but no matches were found in"
                       " the schema cache.")
        else:
            message = (f"Could not find the function {SCHEMA}.{name} without parameters in the"
                       " schema cache")
            details = (f"Searched for the function {SCHEMA}.{name} without parameters or with"
                       " a single unnamed json/jsonb parameter, but no matches were found in"
                       " the schema cache.")
        hint = None
        same = self._functions(conn, name)
        if same:
            args = ", ".join(p.name for p in same[0].params)
            hint = f"Perhaps you meant to call the function {SCHEMA}.{name}({args})"
        else:
            names = [r[0] for r in self._catalog(conn,
                "select distinct p.proname from pg_proc p join pg_namespace n"
                " on n.oid = p.pronamespace where n.nspname = %s and p.prokind = 'f'",
                [SCHEMA])]
            close = difflib.get_close_matches(name, names, n=1)
            if close:
                hint = f"Perhaps you meant to call the function {SCHEMA}.{close[0]}"
        return RestError(404, "PGRST202", message, details=details, hint=hint)

    def rpc(self, req: Req, caller: Caller) -> Resp:
        name = req.path_params["fn"]
        if req.method == "POST":
            body = self._body(req)
            args: Any = {} if body is None else body
        else:
            args = {k: v for k, v in req.query_items if k not in RESERVED}
        keys = sorted(args) if isinstance(args, dict) else []
        with self.connection() as conn:
            return self._rpc(conn, req, caller, name, args, keys)

    def _rpc(self, conn: psycopg.Connection, req: Req, caller: Caller, name: str, args: Any,
             keys: list[str]) -> Resp:
        candidates = []
        for fn in self._functions(conn, name):
            if fn.single_unnamed_json:
                candidates.append((fn, "whole"))
                continue
            if not isinstance(args, dict):
                continue
            names = {p.name for p in fn.params}
            required = {p.name for p in fn.params if not p.has_default}
            if "" in names:
                continue
            if set(keys) <= names and required <= set(keys):
                candidates.append((fn, "named"))
        exact = [c for c in candidates if c[1] == "named"]
        if exact:
            candidates = exact
        if not candidates:
            raise self._not_found(conn, name, keys)
        if len(candidates) > 1:
            listed = ", ".join(f"{SCHEMA}.{name}({fn.signature})" for fn, _ in candidates)
            raise RestError(300, "PGRST203",
                            f"Could not choose the best candidate function between: {listed}",
                            hint="Try renaming the parameters or the function itself in the"
                                 " database so function overloading can be resolved")
        fn, mode = candidates[0]
        read_only = req.method != "POST" or fn.volatility in ("s", "i")
        query, params = self._call_sql(fn, mode, args, keys)

        def work(conn: psycopg.Connection) -> Resp:
            cur = conn.execute(query, params)
            if fn.returns_void:
                return Resp(204, None, {})
            row = cur.fetchone()
            value = row[0] if row else None
            return Resp(200, raw=(value if value is not None else "null").encode(),
                        headers=dict(JSON_HEADERS))

        return self.transaction(conn, req, caller, read_only=read_only, work=work)

    def _call_sql(self, fn: Function, mode: str, args: Any,
                  keys: list[str]) -> tuple[sql.Composable, list[Any]]:
        """``select to_json(_r) from json_to_record($1) as _a(<typed args>) cross join
        lateral public.fn(a := _a.a, ...) as _r``: the arguments are typed by
        ``json_to_record`` from the function's own argument types, as PostgREST does."""
        target = sql.Identifier(SCHEMA, fn.name)
        params: list[Any] = []
        source: sql.Composable | None = None
        if mode == "whole":
            call = sql.SQL("{}(%s::{})").format(target, sql.SQL(fn.params[0].type))
            params.append(json.dumps(args))
        else:
            used = [p for p in fn.params if p.name in keys]
            if used:
                coldefs = sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(p.name), sql.SQL(p.type))
                    for p in used)
                source = sql.SQL("json_to_record(%s::json) as _a({})").format(coldefs)
                params.append(json.dumps(args))
                call = sql.SQL("{}({})").format(target, sql.SQL(", ").join(
                    sql.SQL("{}{} := _a.{}").format(
                        sql.SQL("variadic " if p.variadic else ""),
                        sql.Identifier(p.name), sql.Identifier(p.name))
                    for p in used))
            else:
                call = sql.SQL("{}()").format(target)
        if fn.returns_void:
            query = sql.SQL("select {}").format(call)
            if source is not None:
                query += sql.SQL(" from ") + source
            return query, params
        if source is not None:
            from_clause = sql.SQL(" from {} cross join lateral {} as _r").format(source, call)
        else:
            from_clause = sql.SQL(" from {} as _r").format(call)
        if fn.returns_set:
            limit: sql.Composable = sql.SQL("")
            if self.settings.max_rows is not None:
                limit = sql.SQL(" limit {}").format(sql.Literal(int(self.settings.max_rows)))
            query = sql.SQL(
                "select coalesce(json_agg(_v), '[]'::json)::text from"
                " (select to_json(_r) as _v{}{}) _s").format(from_clause, limit)
        else:
            query = sql.SQL("select to_json(_r)::text{}").format(from_clause)
        return query, params

    # ----------------------------------------------------------------------------- tables

    def _table(self, conn: psycopg.Connection, name: str) -> Table:
        rows = self._catalog(conn,
            """
            select a.attname,
                   coalesce((select true from pg_index i where i.indrelid = c.oid
                             and i.indisprimary and a.attnum = any(i.indkey)), false)
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where n.nspname = %s and c.relname = %s and c.relkind in ('r','v','m','f','p')
            order by a.attnum
            """,
            [SCHEMA, name],
        )
        if not rows:
            raise RestError(404, "PGRST205",
                            f"Could not find the table '{SCHEMA}.{name}' in the schema cache")
        return Table(name, [r[0] for r in rows], [r[0] for r in rows if r[1]])

    def table(self, req: Req, caller: Caller) -> Resp:
        handlers = {"GET": self._select, "POST": self._insert, "PATCH": self._update,
                    "DELETE": self._delete}
        if req.method not in handlers:
            raise RestError(405, "PGRST117", f"Unsupported HTTP method: {req.method}")
        with self.connection() as conn:
            table = self._table(conn, req.path_params["table"])
            return handlers[req.method](conn, req, caller, table)

    def _select(self, conn: psycopg.Connection, req: Req, caller: Caller,
                table: Table) -> Resp:
        filters = FilterBuilder(table)
        where, params = filters.where(req.query_items)
        query = sql.SQL("select {} from {}").format(
            _select_list(table, req.query.get("select", "*")),
            sql.Identifier(SCHEMA, table.name))
        if where is not None:
            query += sql.SQL(" where ") + where
        if req.query.get("order"):
            query += sql.SQL(" order by ") + filters.order(req.query["order"])
        limit = _int_param(req, "limit")
        if self.settings.max_rows is not None:
            limit = min(limit, self.settings.max_rows) if limit is not None else \
                self.settings.max_rows
        offset = _int_param(req, "offset") or 0
        if limit is not None:
            query += sql.SQL(" limit {}").format(sql.Literal(limit))
        if offset:
            query += sql.SQL(" offset {}").format(sql.Literal(offset))
        wrapped = sql.SQL("select coalesce(json_agg(_t), '[]'::json)::text, count(*)"
                          " from ({}) _t").format(query)
        prefer = _prefer(req)
        single = SINGLE_OBJECT in (req.header("accept") or "")

        def work(conn: psycopg.Connection) -> Resp:
            text, count = conn.execute(wrapped, params).fetchone()
            total = "*"
            if prefer.get("count") in ("exact", "planned", "estimated"):
                count_query = sql.SQL("select count(*) from {}").format(
                    sql.Identifier(SCHEMA, table.name))
                if where is not None:
                    count_query += sql.SQL(" where ") + where
                total = str(conn.execute(count_query, params).fetchone()[0])
            headers = dict(JSON_HEADERS)
            headers["Content-Range"] = (f"{offset}-{offset + count - 1}/{total}" if count
                                        else f"*/{total}")
            if single:
                return self._single(text, count, headers)
            return Resp(200, raw=text.encode(), headers=headers)

        return self.transaction(conn, req, caller, read_only=True, work=work)

    @staticmethod
    def _single(text: str, count: int, headers: dict[str, str]) -> Resp:
        if count != 1:
            raise RestError(406, "PGRST116",
                            "JSON object requested, multiple (or no) rows returned",
                            details=f"The result contains {count} rows")
        row = json.loads(text)[0]
        return Resp(200, row, {**headers, "Content-Type": f"{SINGLE_OBJECT}; charset=utf-8"})

    def _returning(self, req: Req, prefer: dict[str, str], status: int, text: str,
                   count: int) -> Resp:
        returning = prefer.get("return", "minimal")
        headers = dict(JSON_HEADERS)
        headers["Content-Range"] = f"*/{count}"
        if returning == "representation":
            if SINGLE_OBJECT in (req.header("accept") or ""):
                return self._single(text, count, headers)
            return Resp(status, raw=text.encode(), headers=headers)
        return Resp(201 if status == 201 else 204, None, {"Content-Range": f"*/{count}"})

    def _insert(self, conn: psycopg.Connection, req: Req, caller: Caller,
                table: Table) -> Resp:
        body = self._body(req)
        rows = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
        if rows is None or not all(isinstance(r, dict) for r in rows):
            raise RestError(400, "PGRST102", "All object keys must match")
        prefer = _prefer(req)
        if "columns" in req.query:
            columns = _columns_param(req.query["columns"])
        else:
            columns = []
            for row in rows:
                for key in row:
                    if key not in columns:
                        columns.append(key)
        for column in columns:
            if column not in table.columns:
                raise RestError(400, "PGRST204", f"Could not find the '{column}' column of"
                                f" '{table.name}' in the schema cache")
        target = sql.Identifier(SCHEMA, table.name)
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        if columns:
            insert = sql.SQL("insert into {} as _t ({}) select {} from"
                             " json_populate_recordset(null::{}, %s::json) _r").format(
                target, cols, cols, target)
        else:
            insert = sql.SQL("insert into {} as _t default values").format(target)
        resolution = prefer.get("resolution")
        if resolution in ("merge-duplicates", "ignore-duplicates"):
            conflict = (_columns_param(req.query["on_conflict"]) if req.query.get("on_conflict")
                        else table.primary_key)
            if not conflict:
                raise RestError(400, "PGRST100", "on_conflict is required for a table without"
                                " a primary key")
            target_cols = sql.SQL(", ").join(sql.Identifier(c) for c in conflict)
            if resolution == "ignore-duplicates" or not columns:
                insert += sql.SQL(" on conflict ({}) do nothing").format(target_cols)
            else:
                insert += sql.SQL(" on conflict ({}) do update set {}").format(
                    target_cols, sql.SQL(", ").join(
                        sql.SQL("{} = excluded.{}").format(sql.Identifier(c), sql.Identifier(c))
                        for c in columns))
        returning = prefer.get("return", "minimal") == "representation"
        insert += sql.SQL(" returning *") if returning else sql.SQL(" returning 1")
        query = sql.SQL("with _i as ({}) select coalesce(json_agg(_i), '[]'::json)::text,"
                        " count(*) from _i").format(insert)
        params = [json.dumps(rows)] if columns else []

        def work(conn: psycopg.Connection) -> Resp:
            text, count = conn.execute(query, params).fetchone()
            return self._returning(req, prefer, 201, text, count)

        return self.transaction(conn, req, caller, read_only=False, work=work)

    def _update(self, conn: psycopg.Connection, req: Req, caller: Caller,
                table: Table) -> Resp:
        body = self._body(req)
        if not isinstance(body, dict):
            raise RestError(400, "PGRST102", "Empty or invalid json")
        for column in body:
            if column not in table.columns:
                raise RestError(400, "PGRST204", f"Could not find the '{column}' column of"
                                f" '{table.name}' in the schema cache")
        filters = FilterBuilder(table, qualifier="_t")
        where, params = filters.where(req.query_items)
        if where is None:
            # Supabase loads pg-safeupdate.
            raise RestError(400, "21000", "UPDATE requires a WHERE clause")
        if not body:
            return Resp(204, None, {})
        target = sql.Identifier(SCHEMA, table.name)
        update = sql.SQL("update {} as _t set {} from json_populate_record(null::{}, %s::json)"
                         " _r where {}").format(
            target,
            sql.SQL(", ").join(sql.SQL("{} = _r.{}").format(sql.Identifier(c), sql.Identifier(c))
                               for c in body),
            target, where)
        prefer = _prefer(req)
        returning = prefer.get("return", "minimal") == "representation"
        update += sql.SQL(" returning _t.*") if returning else sql.SQL(" returning 1")
        query = sql.SQL("with _i as ({}) select coalesce(json_agg(_i), '[]'::json)::text,"
                        " count(*) from _i").format(update)

        def work(conn: psycopg.Connection) -> Resp:
            text, count = conn.execute(query, [json.dumps(body), *params]).fetchone()
            return self._returning(req, prefer, 200, text, count)

        return self.transaction(conn, req, caller, read_only=False, work=work)

    def _delete(self, conn: psycopg.Connection, req: Req, caller: Caller,
                table: Table) -> Resp:
        filters = FilterBuilder(table)
        where, params = filters.where(req.query_items)
        if where is None:
            raise RestError(400, "21000", "DELETE requires a WHERE clause")
        prefer = _prefer(req)
        returning = prefer.get("return", "minimal") == "representation"
        delete = sql.SQL("delete from {} where {}").format(
            sql.Identifier(SCHEMA, table.name), where)
        delete += sql.SQL(" returning *") if returning else sql.SQL(" returning 1")
        query = sql.SQL("with _i as ({}) select coalesce(json_agg(_i), '[]'::json)::text,"
                        " count(*) from _i").format(delete)

        def work(conn: psycopg.Connection) -> Resp:
            text, count = conn.execute(query, params).fetchone()
            return self._returning(req, prefer, 200, text, count)

        return self.transaction(conn, req, caller, read_only=False, work=work)

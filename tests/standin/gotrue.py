"""The GoTrue (Supabase Auth) part of the stand-in: ``/auth/v1/...`` (contract A.1-A.5).

Users, identities, sessions, AMR claims and refresh tokens live in the ``auth`` tables of
bootstrap.sql, written through a superuser pool. Every timestamp comes from the stand-in's
injectable clock. Behaviour follows supabase/auth ``internal/api`` (signup.go, token.go,
token_refresh.go, otp.go, magic_link.go, verify.go, logout.go, errors.go).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import jwtutil
from .gateway import auth_error_payload
from .http import Req, Resp, fmt_ts

if TYPE_CHECKING:
    from .server import StandIn

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_V1_TOKEN = re.compile(r"^[a-z0-9]{12}$")
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


@dataclass
class AuthSettings:
    """GoTrue configuration knobs (defaults: the Supabase CLI's local project, except where
    noted)."""

    autoconfirm: bool = True  # MAILER_AUTOCONFIRM (hosted projects default to False)
    signup_enabled: bool = True  # !DISABLE_SIGNUP
    anonymous_enabled: bool = False
    jwt_exp: int = 3600  # JWT_EXP
    refresh_token_rotation_enabled: bool = True
    reuse_interval: float = 10.0  # SECURITY_REFRESH_TOKEN_REUSE_INTERVAL
    refresh_lock_timeout: float = 5.0  # GoTrue's retry loop before 409 conflict
    otp_exp: int = 86400  # MAILER_OTP_EXP
    otp_length: int = 6
    max_frequency: float = 60.0  # SMTP_MAX_FREQUENCY between emails to one user
    password_min_length: int = 6
    password_required_characters: list[str] = field(default_factory=list)
    session_timebox: float | None = None  # SESSIONS_TIMEBOX (seconds)
    session_inactivity_timeout: float | None = None  # SESSIONS_INACTIVITY_TIMEOUT (seconds)
    bcrypt_cost: int = 6  # GoTrue uses 10; lower keeps tests and the load benchmark fast
    aud: str = "authenticated"


@dataclass
class OutboxMessage:
    email: str
    kind: str  # "signup" (confirmation) or "magiclink" (OTP sign-in)
    code: str
    token_hash: str
    sent_at: float


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def _bad_request(code: str, message: str) -> AuthError:
    return AuthError(400, code, message)


INVALID_CREDENTIALS = ("invalid_credentials", "Invalid login credentials")
OTP_EXPIRED = ("otp_expired", "Token has expired or is invalid")


def token_hash(email_or_phone: str, otp: str) -> str:
    """GoTrue ``crypto.GenerateTokenHash``: hex SHA-224 of identifier + code."""
    return hashlib.sha224((email_or_phone + otp).encode()).hexdigest()


def new_refresh_token() -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(12))


def _as_uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class GoTrue:
    def __init__(self, standin: StandIn) -> None:
        self.s = standin
        self.settings = AuthSettings()
        self._outbox_lock = threading.Lock()
        self.outbox: list[OutboxMessage] = []

    # ----------------------------------------------------------------------------- plumbing

    @property
    def clock(self):
        return self.s.clock

    def _now(self) -> datetime:
        return self.clock.now_dt()

    def handle(self, route: str, req: Req) -> Resp:
        try:
            return getattr(self, f"route_{route}")(req)
        except AuthError as exc:
            return self.error_response(req, exc)
        except psycopg.OperationalError as exc:
            return self.error_response(req, AuthError(500, "unexpected_failure",
                                                      f"Database error: {exc}".strip()))

    def error_response(self, req: Req, exc: AuthError) -> Resp:
        body, headers = auth_error_payload(exc.status, exc.code, exc.message,
                                           req.header("x-supabase-api-version"), exc.extra)
        return Resp(exc.status, body, headers)

    def _json_body(self, req: Req) -> dict[str, Any]:
        if not req.body.strip():
            return {}
        try:
            data = json.loads(req.body)
        except ValueError as exc:
            raise _bad_request("bad_json", f"Could not parse request body as JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise _bad_request(
                "bad_json",
                "Could not parse request body as JSON: json: cannot unmarshal "
                f"{type(data).__name__} into Go value of type api.params",
            )
        return data

    def _conn(self):
        return self.s.auth_pool.connection()

    # ---------------------------------------------------------------------------- users

    def _validate_email(self, email: Any) -> str:
        if not isinstance(email, str) or not email.strip():
            raise _bad_request("validation_failed", "An email address is required")
        email = email.strip().lower()
        if len(email) > 255 or not _EMAIL.match(email):
            raise _bad_request("validation_failed",
                               "Unable to validate email address: invalid format")
        return email

    def _check_password(self, password: str) -> None:
        reasons: list[str] = []
        messages: list[str] = []
        minimum = self.settings.password_min_length
        if len(password) < minimum:
            reasons.append("length")
            messages.append(f"Password should be at least {minimum} characters.")
        required = self.settings.password_required_characters
        if required and not all(any(c in group for c in password) for group in required):
            reasons.append("characters")
            messages.append("Password should contain at least one character of each: "
                            + ", ".join(required) + ".")
        if reasons:
            raise AuthError(422, "weak_password", " ".join(messages),
                            {"weak_password": {"reasons": reasons}})

    def _user_by_email(self, cur: psycopg.Cursor, email: str, *, lock: bool = False):
        cur.execute(
            "select * from auth.users where lower(email) = %s and aud = %s"
            " and is_anonymous is false" + (" for update" if lock else ""),
            [email.lower(), self.settings.aud],
        )
        return cur.fetchone()

    def _user_by_id(self, cur: psycopg.Cursor, user_id: Any):
        cur.execute("select * from auth.users where id = %s", [str(user_id)])
        return cur.fetchone()

    def create_user_row(self, cur: psycopg.Cursor, *, email: str, password: str,
                        data: dict[str, Any] | None, confirmed: bool) -> dict[str, Any]:
        now = self._now()
        uid = uuid.uuid4()
        identity_data = {"sub": str(uid), "email": email, "email_verified": False,
                         "phone_verified": False}
        user_meta = {**(data or {}), **identity_data}
        if confirmed:
            user_meta["email_verified"] = True
            identity_data = {**identity_data, "email_verified": True}
        cur.execute(
            """
            insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
                email_confirmed_at, phone, raw_app_meta_data, raw_user_meta_data, created_at,
                updated_at, is_anonymous)
            values ('00000000-0000-0000-0000-000000000000', %s, %s, 'authenticated', %s,
                crypt(%s, gen_salt('bf', %s)), %s, null, %s, %s, %s, %s, false)
            returning *
            """,
            [uid, self.settings.aud, email, password, self.settings.bcrypt_cost,
             now if confirmed else None,
             Jsonb({"provider": "email", "providers": ["email"]}), Jsonb(user_meta), now, now],
        )
        user = cur.fetchone()
        cur.execute(
            "insert into auth.identities (provider_id, user_id, identity_data, provider,"
            " last_sign_in_at, created_at, updated_at) values (%s, %s, %s, 'email', %s, %s, %s)",
            [str(uid), uid, Jsonb(identity_data), now, now, now],
        )
        return user

    def _confirm_user(self, cur: psycopg.Cursor, user: dict[str, Any]) -> None:
        now = self._now()
        cur.execute(
            """
            update auth.users set email_confirmed_at = coalesce(email_confirmed_at, %s),
              confirmation_token = '', updated_at = %s,
              raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb)
                                   || '{"email_verified": true}'::jsonb
            where id = %s
            """,
            [now, now, user["id"]],
        )
        cur.execute(
            "update auth.identities set identity_data = identity_data"
            " || '{\"email_verified\": true}'::jsonb, updated_at = %s"
            " where user_id = %s and provider = 'email'",
            [now, user["id"]],
        )

    def user_json(self, cur: psycopg.Cursor, user: dict[str, Any]) -> dict[str, Any]:
        cur.execute("select * from auth.identities where user_id = %s order by created_at, id",
                    [user["id"]])
        identities = [
            {
                "identity_id": str(row["id"]),
                "id": row["provider_id"],
                "user_id": str(row["user_id"]),
                "identity_data": row["identity_data"],
                "provider": row["provider"],
                "last_sign_in_at": fmt_ts(row["last_sign_in_at"]),
                "created_at": fmt_ts(row["created_at"]),
                "updated_at": fmt_ts(row["updated_at"]),
                "email": row["email"],
            }
            for row in cur.fetchall()
        ]
        confirmed_at = user["email_confirmed_at"] or user["phone_confirmed_at"]
        out: dict[str, Any] = {
            "id": str(user["id"]),
            "aud": user["aud"] or "",
            "role": user["role"] or "",
            "email": user["email"] or "",
        }
        optional_before = {
            "email_confirmed_at": user["email_confirmed_at"],
        }
        out.update({k: fmt_ts(v) for k, v in optional_before.items() if v is not None})
        out["phone"] = user["phone"] or ""
        optional = {
            "phone_confirmed_at": user["phone_confirmed_at"],
            "confirmation_sent_at": user["confirmation_sent_at"],
            "confirmed_at": confirmed_at,
            "recovery_sent_at": user["recovery_sent_at"],
            "last_sign_in_at": user["last_sign_in_at"],
        }
        out.update({k: fmt_ts(v) for k, v in optional.items() if v is not None})
        out["app_metadata"] = user["raw_app_meta_data"] or {}
        out["user_metadata"] = user["raw_user_meta_data"] or {}
        out["identities"] = identities
        out["created_at"] = fmt_ts(user["created_at"])
        out["updated_at"] = fmt_ts(user["updated_at"])
        if user["banned_until"] is not None:
            out["banned_until"] = fmt_ts(user["banned_until"])
        if user["deleted_at"] is not None:
            out["deleted_at"] = fmt_ts(user["deleted_at"])
        out["is_anonymous"] = bool(user["is_anonymous"])
        return out

    def _is_banned(self, user: dict[str, Any]) -> bool:
        banned = user["banned_until"]
        return banned is not None and banned > self._now()

    # ------------------------------------------------------------------------- sessions

    def access_token(self, user: dict[str, Any], session_id: Any,
                     amr: list[dict[str, Any]], aal: str = "aal1") -> tuple[str, int, int]:
        iat = int(self.clock.now())
        exp = iat + int(self.settings.jwt_exp)
        claims = {
            "iss": f"{self.s.url}/auth/v1",
            "sub": str(user["id"]),
            "aud": user["aud"] or self.settings.aud,
            "exp": exp,
            "iat": iat,
            "email": user["email"] or "",
            "phone": user["phone"] or "",
            "app_metadata": user["raw_app_meta_data"] or {},
            "user_metadata": user["raw_user_meta_data"] or {},
            "role": user["role"] or "authenticated",
            "aal": aal,
            "amr": amr,
            "session_id": str(session_id),
            "is_anonymous": bool(user["is_anonymous"]),
        }
        return self.s.keyring.sign(claims), iat, exp

    def _amr(self, cur: psycopg.Cursor, session_id: Any) -> list[dict[str, Any]]:
        cur.execute(
            "select authentication_method, created_at from auth.mfa_amr_claims"
            " where session_id = %s order by created_at desc",
            [session_id],
        )
        return [{"method": m, "timestamp": int(ts.timestamp())} for m, ts in
                ((r["authentication_method"], r["created_at"]) for r in cur.fetchall())]

    def _insert_refresh_token(self, cur: psycopg.Cursor, user_id: Any, session_id: Any,
                              parent: str | None) -> dict[str, Any]:
        now = self._now()
        for _ in range(5):
            token = new_refresh_token()
            cur.execute("select 1 from auth.refresh_tokens where token = %s", [token])
            if cur.fetchone() is None:
                break
        cur.execute(
            "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at,"
            " updated_at, parent, session_id) values"
            " ('00000000-0000-0000-0000-000000000000', %s, %s, false, %s, %s, %s, %s)"
            " returning *",
            [token, str(user_id), now, now, parent, session_id],
        )
        return cur.fetchone()

    def issue_session(self, cur: psycopg.Cursor, user: dict[str, Any], method: str,
                      req: Req | None = None) -> dict[str, Any]:
        """GoTrue ``issueRefreshToken``: a new session, its first refresh token, the AMR claim
        and ``last_sign_in_at``; returns the Session JSON."""
        now = self._now()
        session_id = uuid.uuid4()
        user_agent = req.header("user-agent") if req else None
        cur.execute(
            "insert into auth.sessions (id, user_id, created_at, updated_at, aal, refreshed_at,"
            " user_agent, ip) values (%s, %s, %s, %s, 'aal1', null, %s, %s)",
            [session_id, user["id"], now, now, user_agent, req.client_ip if req else None],
        )
        cur.execute(
            "insert into auth.mfa_amr_claims (session_id, created_at, updated_at,"
            " authentication_method) values (%s, %s, %s, %s)",
            [session_id, now, now, method],
        )
        refresh = self._insert_refresh_token(cur, user["id"], session_id, None)
        cur.execute("update auth.users set last_sign_in_at = %s, updated_at = %s where id = %s"
                    " returning *", [now, now, user["id"]])
        user = cur.fetchone()
        cur.execute("update auth.identities set last_sign_in_at = %s where user_id = %s",
                    [now, user["id"]])
        return self._session_json(cur, user, session_id, refresh["token"])

    def _session_json(self, cur: psycopg.Cursor, user: dict[str, Any], session_id: Any,
                      refresh_token: str) -> dict[str, Any]:
        token, _iat, exp = self.access_token(user, session_id, self._amr(cur, session_id))
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(self.settings.jwt_exp),
            "expires_at": exp,
            "refresh_token": refresh_token,
            "user": self.user_json(cur, user),
        }

    # --------------------------------------------------------------------------- routes

    def route_health(self, req: Req) -> Resp:
        return Resp(200, {"version": "standin", "name": "GoTrue",
                          "description": "GoTrue stand-in for mftrack tests"})

    def route_settings(self, req: Req) -> Resp:
        return Resp(200, {
            "external": {"email": True, "phone": False, "anonymous_users":
                         self.settings.anonymous_enabled},
            "disable_signup": not self.settings.signup_enabled,
            "mailer_autoconfirm": self.settings.autoconfirm,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
        })

    def route_jwks(self, req: Req) -> Resp:
        # Asymmetric keys that are not revoked; symmetric (HS256) keys are never published.
        return Resp(200, self.s.keyring.published_jwks(),
                    headers={"Cache-Control": "public, max-age=600"})

    def route_signup(self, req: Req) -> Resp:
        body = self._json_body(req)
        if not self.settings.signup_enabled:
            raise AuthError(422, "signup_disabled", "Signups not allowed for this instance")
        email = body.get("email")
        password = body.get("password")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        if not email and not body.get("phone"):
            if password:
                raise _bad_request("validation_failed", "missing email or phone")
            if not self.settings.anonymous_enabled:
                raise AuthError(422, "anonymous_provider_disabled",
                                "Anonymous sign-ins are disabled")
            return self._anonymous_signup(req, data)
        if body.get("phone") and not email:
            raise AuthError(422, "phone_provider_disabled", "Phone signups are disabled")
        email = self._validate_email(email)
        if not isinstance(password, str) or password == "":
            raise AuthError(422, "validation_failed", "Signup requires a valid password")
        self._check_password(password)
        with self._conn() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext(%s))", ["signup:" + email])
            user = self._user_by_email(cur, email, lock=True)
            if user is not None:
                if user["email_confirmed_at"] is not None or self.settings.autoconfirm:
                    if self.settings.autoconfirm:
                        raise AuthError(422, "user_already_exists", "User already registered")
                    return Resp(200, self._obfuscated_user(email, data))
                # Unconfirmed: send the confirmation again (rate-limited).
                self._send_email(cur, user, "signup")
                cur.execute("select * from auth.users where id = %s", [user["id"]])
                return Resp(200, self.user_json(cur, cur.fetchone()))
            user = self.create_user_row(cur, email=email, password=password, data=data,
                                        confirmed=self.settings.autoconfirm)
            if self.settings.autoconfirm:
                return Resp(200, self.issue_session(cur, user, "password", req))
            self._send_email(cur, user, "signup")
            cur.execute("select * from auth.users where id = %s", [user["id"]])
            return Resp(200, self.user_json(cur, cur.fetchone()))

    def _anonymous_signup(self, req: Req, data: dict[str, Any]) -> Resp:
        now = self._now()
        with self._conn() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "insert into auth.users (instance_id, id, aud, role, raw_app_meta_data,"
                " raw_user_meta_data, created_at, updated_at, is_anonymous) values"
                " ('00000000-0000-0000-0000-000000000000', %s, %s, 'authenticated', %s, %s, %s,"
                " %s, true) returning *",
                [uuid.uuid4(), self.settings.aud, Jsonb({}), Jsonb(data), now, now],
            )
            user = cur.fetchone()
            return Resp(200, self.issue_session(cur, user, "anonymous", req))

    def _obfuscated_user(self, email: str, data: dict[str, Any]) -> dict[str, Any]:
        now = fmt_ts(self._now())
        return {
            "id": str(uuid.uuid4()), "aud": self.settings.aud, "role": "", "email": email,
            "phone": "", "confirmation_sent_at": now,
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": data, "identities": [], "created_at": now, "updated_at": now,
            "is_anonymous": False,
        }

    def _send_email(self, cur: psycopg.Cursor, user: dict[str, Any], kind: str) -> None:
        """Put a code in the outbox. ``signup`` uses the confirmation token, ``magiclink``
        the recovery token (as GoTrue does); both are limited to one per max_frequency."""
        sent_col = "confirmation_sent_at" if kind == "signup" else "recovery_sent_at"
        token_col = "confirmation_token" if kind == "signup" else "recovery_token"
        now = self.clock.now()
        last = user[sent_col]
        if last is not None:
            left = last.timestamp() + self.settings.max_frequency - now
            if left > 0:
                raise AuthError(
                    429, "over_email_send_rate_limit",
                    f"For security purposes, you can only request this after {int(left)} seconds.",
                )
        code = "".join(secrets.choice(string.digits) for _ in range(self.settings.otp_length))
        hashed = token_hash(user["email"], code)
        sent_at = self._now()
        cur.execute(
            f"update auth.users set {token_col} = %s, {sent_col} = %s where id = %s",
            [hashed, sent_at, user["id"]],
        )
        with self._outbox_lock:
            self.outbox.append(OutboxMessage(email=user["email"], kind=kind, code=code,
                                             token_hash=hashed, sent_at=now))

    def route_token(self, req: Req) -> Resp:
        grant = req.query.get("grant_type", "")
        if grant == "password":
            return self._password_grant(req)
        if grant == "refresh_token":
            return self._refresh_grant(req)
        if grant in ("id_token", "pkce", "web3"):
            raise _bad_request("validation_failed",
                               f"grant_type {grant} is not supported by the stand-in")
        raise _bad_request("invalid_credentials", "unsupported_grant_type")

    def _password_grant(self, req: Req) -> Resp:
        body = self._json_body(req)
        email = body.get("email") or ""
        phone = body.get("phone") or ""
        password = body.get("password") or ""
        if email and phone:
            raise _bad_request("validation_failed",
                               "Only an email address or phone number should be provided on login.")
        if not email and not phone:
            raise _bad_request("validation_failed", "missing email or phone")
        if phone:
            raise _bad_request(*INVALID_CREDENTIALS)
        with self._conn() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            user = self._user_by_email(cur, str(email))
            if user is None or user["deleted_at"] is not None:
                raise _bad_request(*INVALID_CREDENTIALS)
            if self._is_banned(user):
                raise _bad_request("user_banned", "User is banned")
            cur.execute("select encrypted_password = crypt(%s, encrypted_password) as ok"
                        " from auth.users where id = %s", [str(password), user["id"]])
            row = cur.fetchone()
            if not password or not user["encrypted_password"] or not (row and row["ok"]):
                raise _bad_request(*INVALID_CREDENTIALS)
            if user["email_confirmed_at"] is None:
                raise _bad_request("email_not_confirmed", "Email not confirmed")
            return Resp(200, self.issue_session(cur, user, "password", req))

    def _session_problem(self, session: dict[str, Any], token: dict[str, Any]) -> str | None:
        now = self._now()
        if session["not_after"] is not None and now >= session["not_after"]:
            return "Invalid Refresh Token: Session Expired"
        timebox = self.settings.session_timebox
        if timebox and now >= session["created_at"] + timedelta(seconds=timebox):
            return "Invalid Refresh Token: Session Expired"
        inactivity = self.settings.session_inactivity_timeout
        if inactivity:
            last = session["refreshed_at"]
            last = last.replace(tzinfo=UTC) if last is not None else session["created_at"]
            last = max(last, token["updated_at"])
            if now >= last + timedelta(seconds=inactivity):
                return "Invalid Refresh Token: Session Expired (Inactivity)"
        return None

    def _refresh_grant(self, req: Req) -> Resp:
        body = self._json_body(req)
        presented = body.get("refresh_token")
        if not isinstance(presented, str) or not _V1_TOKEN.match(presented):
            # Shorter than 12, 12 chars outside [a-z0-9], or longer (read as a v2 token that
            # does not parse: the stand-in only issues v1 tokens).
            raise _bad_request("validation_failed", "Refresh token is not valid")
        deadline = time.monotonic() + self.settings.refresh_lock_timeout
        while True:
            result = self._refresh_attempt(req, presented)
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                raise AuthError(409, "conflict", "Too many concurrent token refresh requests"
                                " on the same session or refresh token")
            time.sleep(0.01 + secrets.randbelow(20) / 1000)

    def _refresh_attempt(self, req: Req, presented: str) -> Resp | None:
        """One pass of GoTrue's refresh loop. None means the session row was locked by a
        concurrent refresh: try again."""
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("select * from auth.refresh_tokens where token = %s", [presented])
            token = cur.fetchone()
            if token is None:
                raise _bad_request("refresh_token_not_found",
                                   "Invalid Refresh Token: Refresh Token Not Found")
            user = self._user_by_id(cur, token["user_id"])
            if user is None:
                raise _bad_request("refresh_token_not_found",
                                   "Invalid Refresh Token: Refresh Token Not Found")
            if self._is_banned(user):
                raise _bad_request("user_banned", "Invalid Refresh Token: User Banned")
            cur.execute("select * from auth.sessions where id = %s", [token["session_id"]])
            session = cur.fetchone()
            if session is None:
                raise _bad_request("refresh_token_not_found",
                                   "Invalid Refresh Token: Refresh Token Not Found")
            problem = self._session_problem(session, token)
            if problem:
                raise _bad_request("session_expired", problem)

            failure: AuthError | None = None
            with conn.transaction():
                cur.execute("select * from auth.sessions where id = %s limit 1"
                            " for update skip locked", [session["id"]])
                if cur.fetchone() is None:
                    cur.execute("select 1 from auth.sessions where id = %s", [session["id"]])
                    if cur.fetchone() is None:
                        raise _bad_request("refresh_token_not_found",
                                           "Invalid Refresh Token: Refresh Token Not Found")
                    return None
                # Re-read under the lock: a concurrent refresh may have rotated it meanwhile.
                cur.execute("select * from auth.refresh_tokens where token = %s", [presented])
                token = cur.fetchone()
                if token is None:
                    raise _bad_request("refresh_token_not_found",
                                       "Invalid Refresh Token: Refresh Token Not Found")
                now = self._now()
                issued: dict[str, Any] | None = None
                if token["revoked"]:
                    cur.execute(
                        "select * from auth.refresh_tokens where session_id = %s and revoked"
                        " is false order by id desc limit 1",
                        [session["id"]],
                    )
                    active = cur.fetchone()
                    if active is not None and active["parent"] == token["token"]:
                        # The client lost the last response: hand back the active token.
                        issued = active
                    elif self.settings.refresh_token_rotation_enabled:
                        reuse_until = token["updated_at"] + timedelta(
                            seconds=self.settings.reuse_interval)
                        if now > reuse_until:
                            cur.execute(
                                "update auth.refresh_tokens set revoked = true, updated_at = %s"
                                " where session_id = %s and revoked = false",
                                [now, session["id"]],
                            )
                            failure = _bad_request("refresh_token_already_used",
                                                   "Invalid Refresh Token: Already Used")
                if failure is None:
                    if issued is None:
                        cur.execute(
                            "update auth.refresh_tokens set revoked = true, updated_at = %s"
                            " where id = %s", [now, token["id"]],
                        )
                        issued = self._insert_refresh_token(cur, user["id"], session["id"],
                                                            token["token"])
                    cur.execute(
                        "update auth.sessions set refreshed_at = %s, updated_at = %s,"
                        " user_agent = coalesce(%s, user_agent) where id = %s",
                        [now.replace(tzinfo=None), now, req.header("user-agent"),
                         session["id"]],
                    )
                    payload = self._session_json(cur, user, session["id"], issued["token"])
            if failure is not None:
                raise failure  # raised after the family revocation committed
            return Resp(200, payload)

    def route_otp(self, req: Req) -> Resp:
        body = self._json_body(req)
        if body.get("phone") and not body.get("email"):
            raise AuthError(422, "phone_provider_disabled", "Unsupported phone provider")
        if not body.get("email"):
            raise _bad_request("validation_failed", "An email address or phone number is required")
        email = self._validate_email(body.get("email"))
        create_user = body.get("create_user", True)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        with self._conn() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext(%s))", ["signup:" + email])
            user = self._user_by_email(cur, email, lock=True)
            if user is None:
                if not create_user:
                    raise AuthError(422, "otp_disabled", "Signups not allowed for otp")
                if not self.settings.signup_enabled:
                    raise AuthError(422, "signup_disabled",
                                    "Signups not allowed for this instance")
                user = self.create_user_row(cur, email=email,
                                            password=secrets.token_urlsafe(48), data=data,
                                            confirmed=self.settings.autoconfirm)
                if not self.settings.autoconfirm:
                    # New, unconfirmed user: GoTrue sends the signup confirmation (its code
                    # works with verify type "email" or "signup").
                    self._send_email(cur, user, "signup")
                    return Resp(200, {})
            self._send_email(cur, user, "magiclink")
        return Resp(200, {})

    def route_verify(self, req: Req) -> Resp:
        body = self._json_body(req)
        vtype = body.get("type")
        token = body.get("token")
        hashed = body.get("token_hash")
        email = body.get("email")
        if vtype not in ("email", "signup", "magiclink", "recovery", "invite"):
            if vtype in ("sms", "phone_change", "email_change"):
                raise _bad_request("validation_failed",
                                   f"Verify type {vtype} is not supported by the stand-in")
            raise _bad_request("validation_failed", "Verify requires a verification type")
        if not hashed:
            if not token:
                raise _bad_request("validation_failed",
                                   "Verify requires either a token or a token hash")
            if not email:
                raise _bad_request("validation_failed",
                                   "Only an email address or phone number should be provided"
                                   " on verify")
            email = self._validate_email(email)
            hashed = token_hash(email, str(token))
        with self._conn() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            if email:
                user = self._user_by_email(cur, email, lock=True)
            else:
                cur.execute("select * from auth.users where confirmation_token = %s"
                            " or recovery_token = %s limit 1 for update", [hashed, hashed])
                user = cur.fetchone()
            if user is None:
                raise AuthError(403, *OTP_EXPIRED)
            confirmation_ok = vtype in ("email", "signup", "invite") and self._otp_valid(
                hashed, user["confirmation_token"], user["confirmation_sent_at"])
            recovery_ok = vtype in ("email", "magiclink", "recovery") and self._otp_valid(
                hashed, user["recovery_token"], user["recovery_sent_at"])
            if not (confirmation_ok or recovery_ok):
                raise AuthError(403, *OTP_EXPIRED)
            if confirmation_ok:
                self._confirm_user(cur, user)
            else:
                cur.execute("update auth.users set recovery_token = '' where id = %s",
                            [user["id"]])
                if user["email_confirmed_at"] is None:
                    self._confirm_user(cur, user)
            user = self._user_by_id(cur, user["id"])
            return Resp(200, self.issue_session(cur, user, "otp", req))

    def _otp_valid(self, actual: str, expected: str | None, sent_at: datetime | None) -> bool:
        if not expected or sent_at is None:
            return False
        if self.clock.now() >= sent_at.timestamp() + self.settings.otp_exp:
            return False
        return secrets.compare_digest(actual, expected)

    def authenticate(self, req: Req, cur: psycopg.Cursor) -> tuple[dict[str, Any],
                                                                 dict[str, Any] | None]:
        """GoTrue ``requireAuthentication``: the user and session behind the Bearer JWT."""
        auth = req.header("authorization") or ""
        match = re.match(r"(?i)^bearer\s+(\S+)\s*$", auth)
        if not match:
            raise AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
        try:
            claims = jwtutil.verify_gotrue(match[1], self.s.verifier("auth"), self.clock.now())
        except jwtutil.JwtProblem as exc:
            raise AuthError(403, "bad_jwt",
                            f"invalid JWT: unable to parse or verify signature, {exc.message}"
                            ) from exc
        sub = claims.get("sub")
        if not sub:
            raise AuthError(403, "bad_jwt", "invalid claim: missing sub claim")
        user_id = _as_uuid(sub)
        if user_id is None:
            raise AuthError(400, "bad_jwt", "invalid claim: sub claim must be a UUID")
        user = self._user_by_id(cur, user_id)
        if user is None:
            raise AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        session = None
        sid = claims.get("session_id")
        if sid:
            session_id = _as_uuid(sid)
            if session_id is None:
                raise AuthError(403, "bad_jwt", "invalid claim: session_id claim must be a UUID")
            cur.execute("select * from auth.sessions where id = %s", [session_id])
            session = cur.fetchone()
            if session is None:
                raise AuthError(403, "session_not_found",
                                "Session from session_id claim in JWT does not exist")
        return user, session

    def route_user(self, req: Req) -> Resp:
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as cur:
            user, _session = self.authenticate(req, cur)
            return Resp(200, self.user_json(cur, user))

    def route_logout(self, req: Req) -> Resp:
        with self._conn() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            user, session = self.authenticate(req, cur)
            scope = req.query.get("scope") or "global"
            if scope not in ("global", "local", "others"):
                raise _bad_request("validation_failed", f'Unsupported logout scope "{scope}"')
            if session is not None:
                if scope == "local":
                    cur.execute("delete from auth.sessions where id = %s", [session["id"]])
                elif scope == "others":
                    cur.execute("delete from auth.sessions where user_id = %s and id <> %s",
                                [user["id"], session["id"]])
                else:
                    cur.execute("delete from auth.sessions where user_id = %s", [user["id"]])
                    cur.execute("delete from auth.refresh_tokens where user_id = %s",
                                [str(user["id"])])
        return Resp(204)

"""The stand-in's GoTrue endpoints, driven by the real supabase-py 2.34.1 auth client."""

from __future__ import annotations

import threading

import httpx
import jwt
import pytest
from supabase_auth.errors import (
    AuthApiError,
    AuthRetryableError,
    AuthWeakPasswordError,
)

from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server, unique_email  # noqa: F401

pytestmark = pytest.mark.postgres

PASSWORD = "correct horse 1"


def signed_up(standin: StandIn, email: str | None = None):  # noqa: F811
    """A confirmed user and its first session, via supabase-py."""
    email = email or unique_email()
    client = standin.auth_client()
    response = client.sign_up({"email": email, "password": PASSWORD})
    assert response.session is not None
    return client, response.session


def raw(standin: StandIn, method: str, path: str, **kwargs):  # noqa: F811
    headers = {"apikey": standin.anon_key, **kwargs.pop("headers", {})}
    return httpx.request(method, standin.url + path, headers=headers, **kwargs)


# ---------------------------------------------------------------------------------- signup


def test_signup_autoconfirm_returns_a_session(standin: StandIn) -> None:  # noqa: F811
    email = unique_email()
    response = standin.auth_client().sign_up({"email": email, "password": PASSWORD})
    session = response.session
    assert session is not None
    assert session.token_type == "bearer"
    assert session.expires_in == 3600
    assert len(session.refresh_token) == 12
    assert response.user.email == email
    assert response.user.email_confirmed_at is not None
    assert response.user.app_metadata == {"provider": "email", "providers": ["email"]}
    assert [i.provider for i in response.user.identities] == ["email"]
    assert response.user.role == "authenticated"
    assert response.user.aud == "authenticated"


def test_signup_without_autoconfirm_returns_a_user_then_the_code_confirms(
        standin: StandIn) -> None:  # noqa: F811
    standin.set_autoconfirm(False)
    email = unique_email()
    client = standin.auth_client()
    response = client.sign_up({"email": email, "password": PASSWORD})
    assert response.session is None
    assert response.user.email == email
    assert response.user.confirmation_sent_at is not None
    assert response.user.email_confirmed_at is None

    with pytest.raises(AuthApiError) as info:
        client.sign_in_with_password({"email": email, "password": PASSWORD})
    assert (info.value.status, info.value.code) == (400, "email_not_confirmed")

    code = standin.last_otp(email)
    verified = client.verify_otp({"email": email, "token": code, "type": "signup"})
    assert verified.session is not None
    assert verified.user.email_confirmed_at is not None
    assert client.sign_in_with_password({"email": email, "password": PASSWORD}).session


def test_duplicate_signup(standin: StandIn) -> None:  # noqa: F811
    email = unique_email()
    signed_up(standin, email)
    with pytest.raises(AuthApiError) as info:
        standin.auth_client().sign_up({"email": email, "password": PASSWORD})
    assert (info.value.status, info.value.code) == (422, "user_already_exists")
    assert info.value.message == "User already registered"

    # With email confirmation on, an existing address gets an obfuscated user, not an error.
    standin.set_autoconfirm(False)
    response = standin.auth_client().sign_up({"email": email, "password": PASSWORD})
    assert response.session is None
    assert response.user.identities == []
    assert response.user.id != standin.user_id(email)


def test_weak_password_and_disabled_signups(standin: StandIn) -> None:  # noqa: F811
    with pytest.raises(AuthWeakPasswordError) as info:
        standin.auth_client().sign_up({"email": unique_email(), "password": "abc"})
    assert (info.value.status, info.value.code) == (422, "weak_password")
    assert info.value.reasons == ["length"]
    assert info.value.message == "Password should be at least 6 characters."

    standin.set_signup_enabled(False)
    with pytest.raises(AuthApiError) as info:
        standin.auth_client().sign_up({"email": unique_email(), "password": PASSWORD})
    assert (info.value.status, info.value.code) == (422, "signup_disabled")


# ---------------------------------------------------------------------------------- password


def test_password_login_and_wrong_credentials(standin: StandIn) -> None:  # noqa: F811
    email = unique_email()
    user_id = standin.create_user(email, PASSWORD)
    client = standin.auth_client()
    response = client.sign_in_with_password({"email": email.upper(), "password": PASSWORD})
    assert response.user.id == user_id
    assert response.user.last_sign_in_at is not None

    for creds in ({"email": email, "password": "wrong password"},
                  {"email": unique_email(), "password": PASSWORD}):
        with pytest.raises(AuthApiError) as info:
            client.sign_in_with_password(creds)
        assert (info.value.status, info.value.code) == (400, "invalid_credentials")
        assert info.value.message == "Invalid login credentials"


def test_access_token_claims_are_exactly_a5(standin: StandIn) -> None:  # noqa: F811
    _client, session = signed_up(standin)
    header = jwt.get_unverified_header(session.access_token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(session.access_token, standin.jwt_secret, algorithms=["HS256"],
                        audience="authenticated")
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "email", "phone",
                           "app_metadata", "user_metadata", "role", "aal", "amr",
                           "session_id", "is_anonymous"}
    assert claims["aud"] == "authenticated"  # a string, not a list
    assert claims["iss"] == f"{standin.url}/auth/v1"
    assert claims["role"] == "authenticated"
    assert claims["aal"] == "aal1"
    assert claims["amr"][0]["method"] == "password"
    assert claims["phone"] == ""
    assert claims["is_anonymous"] is False
    assert claims["exp"] - claims["iat"] == 3600
    assert session.expires_at == claims["exp"]
    assert standin.sql_value("select user_id from auth.sessions where id = %s",
                             claims["session_id"]) is not None

    standin.set_jwt_expiry(120)
    _client, short = signed_up(standin)
    claims = jwt.decode(short.access_token, standin.jwt_secret, algorithms=["HS256"],
                        audience="authenticated")
    assert claims["exp"] - claims["iat"] == 120 == short.expires_in


def test_unsupported_grant_type(standin: StandIn) -> None:  # noqa: F811
    response = raw(standin, "POST", "/auth/v1/token?grant_type=client_credentials", json={},
                   headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_credentials",
                               "message": "unsupported_grant_type"}


# ------------------------------------------------------------------------------- error shape


def test_error_shape_new_and_legacy(standin: StandIn) -> None:  # noqa: F811
    body = {"email": unique_email(), "password": "nope-nope"}
    new = raw(standin, "POST", "/auth/v1/token?grant_type=password", json=body,
              headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert new.status_code == 400
    assert new.json() == {"code": "invalid_credentials", "message": "Invalid login credentials"}
    assert new.headers["X-Supabase-Api-Version"] == "2024-01-01"
    assert new.headers["x-sb-error-code"] == "invalid_credentials"

    legacy = raw(standin, "POST", "/auth/v1/token?grant_type=password", json=body)
    assert legacy.status_code == 400
    assert legacy.json() == {"code": 400, "error_code": "invalid_credentials",
                             "msg": "Invalid login credentials"}
    assert "X-Supabase-Api-Version" not in legacy.headers

    bad_json = raw(standin, "POST", "/auth/v1/token?grant_type=password", content=b"{nope",
                   headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert bad_json.json()["error_code"] == "bad_json"


def test_supabase_py_reads_the_code_only_with_the_echoed_header(
        standin: StandIn) -> None:  # noqa: F811
    """supabase-py always sends X-Supabase-Api-Version; AuthApiError.code is populated
    because the stand-in echoes it on the error response."""
    with pytest.raises(AuthApiError) as info:
        standin.auth_client().sign_in_with_password(
            {"email": unique_email(), "password": PASSWORD})
    assert info.value.code == "invalid_credentials"
    assert info.value.status == 400


# ------------------------------------------------------------------------------------- OTP


def test_otp_implicit_flow_creates_and_signs_in(standin: StandIn) -> None:  # noqa: F811
    email = unique_email()
    client = standin.auth_client(flow_type="implicit")
    assert client.sign_in_with_otp({"email": email}).user is None
    request = standin.requests("/auth/v1/otp")[-1]
    assert request.status == 200
    codes = standin.otp_outbox(email)
    assert len(codes) == 1 and len(codes[0]) == 6 and codes[0].isdigit()

    response = client.verify_otp({"email": email, "token": codes[0], "type": "email"})
    assert response.session is not None
    assert response.user.email == email
    claims = jwt.decode(response.session.access_token, standin.jwt_secret,
                        algorithms=["HS256"], audience="authenticated")
    assert claims["amr"][0]["method"] == "otp"

    # The code is single-use.
    with pytest.raises(AuthApiError) as info:
        client.verify_otp({"email": email, "token": codes[0], "type": "email"})
    assert (info.value.status, info.value.code) == (403, "otp_expired")


def test_otp_for_an_existing_user_resend_limit_and_expiry(standin: StandIn) -> None:  # noqa: F811
    email = unique_email()
    standin.create_user(email, PASSWORD)
    client = standin.auth_client()
    client.sign_in_with_otp({"email": email, "options": {"should_create_user": False}})
    first = standin.last_otp(email)

    with pytest.raises(AuthApiError) as info:
        client.sign_in_with_otp({"email": email})
    assert (info.value.status, info.value.code) == (429, "over_email_send_rate_limit")
    assert "you can only request this after" in info.value.message

    with pytest.raises(AuthApiError) as info:
        client.verify_otp({"email": email, "token": "000000" if first != "000000" else "111111",
                           "type": "email"})
    assert (info.value.status, info.value.code) == (403, "otp_expired")
    assert info.value.message == "Token has expired or is invalid"

    standin.clock.advance(61)
    client.sign_in_with_otp({"email": email})
    second = standin.last_otp(email)
    assert standin.otp_outbox(email) == [first, second]
    with pytest.raises(AuthApiError):  # superseded
        client.verify_otp({"email": email, "token": first, "type": "email"}) if first != second \
            else (_ for _ in ()).throw(AuthApiError("same code", 403, "otp_expired"))

    standin.clock.advance(86400 + 1)
    with pytest.raises(AuthApiError) as info:
        client.verify_otp({"email": email, "token": second, "type": "email"})
    assert info.value.code == "otp_expired"


def test_otp_without_create_user_for_unknown_email(standin: StandIn) -> None:  # noqa: F811
    with pytest.raises(AuthApiError) as info:
        standin.auth_client().sign_in_with_otp(
            {"email": unique_email(), "options": {"should_create_user": False}})
    assert (info.value.status, info.value.code) == (422, "otp_disabled")


def test_otp_with_pkce_flow_still_verifies_by_code(standin: StandIn) -> None:  # noqa: F811
    """With flow_type="pkce" supabase-py adds code_challenge to /otp; the 6-digit code path
    does not depend on it."""
    email = unique_email()
    client = standin.auth_client(flow_type="pkce")
    client.sign_in_with_otp({"email": email})
    response = client.verify_otp({"email": email, "token": standin.last_otp(email),
                                  "type": "email"})
    assert response.session is not None


# --------------------------------------------------------------------------------- refresh


def test_refresh_rotates_the_token(standin: StandIn) -> None:  # noqa: F811
    client, session = signed_up(standin)
    standin.clock.advance(5)
    refreshed = client.refresh_session(session.refresh_token).session
    assert refreshed.refresh_token != session.refresh_token
    assert len(refreshed.refresh_token) == 12
    assert refreshed.access_token != session.access_token
    assert refreshed.user.id == session.user.id
    old = jwt.decode(session.access_token, options={"verify_signature": False})
    new = jwt.decode(refreshed.access_token, options={"verify_signature": False})
    assert new["session_id"] == old["session_id"]
    assert new["iat"] >= old["iat"] + 5
    rows = standin.sql("select token, revoked, parent from auth.refresh_tokens"
                       " where session_id = %s order by id", old["session_id"])
    assert rows == [(session.refresh_token, True, None),
                    (refreshed.refresh_token, False, session.refresh_token)]


def test_reuse_inside_the_window_then_already_used_outside(standin: StandIn) -> None:  # noqa: F811
    client, session = signed_up(standin)
    first = client.refresh_session(session.refresh_token).session
    second = client.refresh_session(first.refresh_token).session
    # `session.refresh_token` is revoked and not the parent of the active token (`second`'s
    # parent is `first`), but it was revoked moments ago: reuse inside the 10 s window is
    # accepted and issues a new child of it.
    again = client.refresh_session(session.refresh_token).session
    assert again.refresh_token not in (first.refresh_token, second.refresh_token)
    # GoTrue quirk, reproduced: that child is now the active token, so the reused token is
    # "the parent of the active token" and keeps working at any time.
    standin.clock.advance(3600)
    assert client.refresh_session(session.refresh_token).session.refresh_token == \
        again.refresh_token

    client, session = signed_up(standin)
    first = client.refresh_session(session.refresh_token).session
    client.refresh_session(first.refresh_token)
    standin.clock.advance(11)
    with pytest.raises(AuthApiError) as info:
        client.refresh_session(session.refresh_token)
    assert (info.value.status, info.value.code) == (400, "refresh_token_already_used")
    assert info.value.message == "Invalid Refresh Token: Already Used"
    # The whole family was revoked (the session itself stays).
    sid = jwt.decode(session.access_token, options={"verify_signature": False})["session_id"]
    assert standin.sql_value("select count(*) from auth.refresh_tokens where session_id = %s"
                             " and not revoked", sid) == 0
    assert standin.sql_value("select count(*) from auth.sessions where id = %s", sid) == 1


def test_reuse_interval_knob(standin: StandIn) -> None:  # noqa: F811
    standin.set_reuse_interval(0)
    client, session = signed_up(standin)
    first = client.refresh_session(session.refresh_token).session
    client.refresh_session(first.refresh_token)
    standin.clock.advance(0.01)
    with pytest.raises(AuthApiError) as info:
        client.refresh_session(session.refresh_token)
    assert info.value.code == "refresh_token_already_used"


def test_parent_of_the_active_token_gets_the_active_token_at_any_time(
        standin: StandIn) -> None:  # noqa: F811
    client, session = signed_up(standin)
    lost = client.refresh_session(session.refresh_token).session  # response "lost"
    standin.clock.advance(3600 * 24)
    recovered = client.refresh_session(session.refresh_token).session
    assert recovered.refresh_token == lost.refresh_token
    assert client.refresh_session(recovered.refresh_token).session.refresh_token not in (
        lost.refresh_token, session.refresh_token)


def test_malformed_and_unknown_refresh_tokens(standin: StandIn) -> None:  # noqa: F811
    client = standin.auth_client()
    for token in ("short", "ABCDEFGHIJKL", "abc-def-ghij", "a" * 40):
        with pytest.raises(AuthApiError) as info:
            client.refresh_session(token)
        assert (info.value.status, info.value.code) == (400, "validation_failed"), token
        assert info.value.message == "Refresh token is not valid"
    with pytest.raises(AuthApiError) as info:
        client.refresh_session("zzzzzzzzzzzz")
    assert (info.value.status, info.value.code) == (400, "refresh_token_not_found")


def test_concurrent_refreshes_of_one_token_agree(standin: StandIn) -> None:  # noqa: F811
    """Refreshes of the same token serialise on the session row (SELECT ... FOR UPDATE);
    the later ones see the token revoked as the parent of the active one and get the same
    new token."""
    _client, session = signed_up(standin)
    results: list[str] = []
    errors: list[Exception] = []

    def worker() -> None:
        try:
            results.append(standin.auth_client().refresh_session(
                session.refresh_token).session.refresh_token)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    assert standin.sql_value(
        "select count(*) from auth.refresh_tokens where parent = %s", session.refresh_token) == 1


def test_expired_and_revoked_sessions(standin: StandIn) -> None:  # noqa: F811
    client, session = signed_up(standin)
    assert standin.expire_session(access_token=session.access_token) == 1
    with pytest.raises(AuthApiError) as info:
        client.refresh_session(session.refresh_token)
    assert (info.value.status, info.value.code) == (400, "session_expired")

    client, session = signed_up(standin)
    standin.revoke_sessions(session.user.id)
    with pytest.raises(AuthApiError) as info:
        client.refresh_session(session.refresh_token)
    assert info.value.code == "refresh_token_not_found"
    with pytest.raises(AuthApiError) as info:
        client.get_user(session.access_token)
    assert (info.value.status, info.value.code) == (403, "session_not_found")


def test_banned_user(standin: StandIn) -> None:  # noqa: F811
    client, session = signed_up(standin)
    standin.ban_user(session.user.id)
    with pytest.raises(AuthApiError) as info:
        client.refresh_session(session.refresh_token)
    assert info.value.code == "user_banned"
    with pytest.raises(AuthApiError) as info:
        client.sign_in_with_password({"email": session.user.email, "password": PASSWORD})
    assert info.value.code == "user_banned"


# ---------------------------------------------------------------------------- user / logout


def test_get_user_errors(standin: StandIn) -> None:  # noqa: F811
    client, session = signed_up(standin)
    assert client.get_user(session.access_token).user.id == session.user.id

    no_bearer = raw(standin, "GET", "/auth/v1/user",
                    headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert no_bearer.status_code == 401
    assert no_bearer.json()["code"] == "no_authorization"

    forged = standin.make_jwt(user_id=session.user.id, secret="x" * 40)
    with pytest.raises(AuthApiError) as info:
        client.get_user(forged)
    assert (info.value.status, info.value.code) == (403, "bad_jwt")
    assert info.value.message.startswith("invalid JWT: unable to parse or verify signature")

    with pytest.raises(AuthApiError) as info:
        client.get_user(standin.anon_key)
    assert (info.value.status, info.value.code) == (403, "bad_jwt")

    standin.clock.advance(3601)
    with pytest.raises(AuthApiError) as info:
        client.get_user(session.access_token)
    assert (info.value.status, info.value.code) == (403, "bad_jwt")
    assert info.value.message.endswith("token has invalid claims: token is expired")

    standin.clock.reset()
    standin.delete_user(session.user.id)
    with pytest.raises(AuthApiError) as info:
        client.get_user(session.access_token)
    assert (info.value.status, info.value.code) == (403, "user_not_found")


def test_logout_local_leaves_other_sessions(standin: StandIn) -> None:  # noqa: F811
    email = unique_email()
    standin.create_user(email, PASSWORD)
    laptop, phone = standin.auth_client(), standin.auth_client()
    s1 = laptop.sign_in_with_password({"email": email, "password": PASSWORD}).session
    s2 = phone.sign_in_with_password({"email": email, "password": PASSWORD}).session

    laptop.sign_out({"scope": "local"})
    assert standin.requests("/auth/v1/logout?scope=local")[-1].status == 204
    assert laptop.get_session() is None
    with pytest.raises(AuthApiError) as info:
        phone.get_user(s1.access_token)
    assert (info.value.status, info.value.code) == (403, "session_not_found")
    assert info.value.message == "Session from session_id claim in JWT does not exist"
    with pytest.raises(AuthApiError) as info:
        phone.refresh_session(s1.refresh_token)
    assert info.value.code == "refresh_token_not_found"

    assert phone.get_user(s2.access_token).user.email == email
    assert phone.refresh_session(s2.refresh_token).session is not None


def test_logout_others_and_global(standin: StandIn) -> None:  # noqa: F811
    email = unique_email()
    user_id = standin.create_user(email, PASSWORD)
    clients = [standin.auth_client() for _ in range(3)]
    sessions = [c.sign_in_with_password({"email": email, "password": PASSWORD}).session
                for c in clients]

    clients[0].sign_out({"scope": "others"})
    assert clients[0].get_session() is not None
    assert standin.sql_value("select count(*) from auth.sessions where user_id = %s",
                             user_id) == 1
    assert clients[0].get_user(sessions[0].access_token).user.id == user_id

    clients[0].sign_out()  # supabase-py's default scope is global
    assert standin.requests("/auth/v1/logout?scope=global")[-1].status == 204
    assert standin.sql_value("select count(*) from auth.sessions where user_id = %s",
                             user_id) == 0


def test_logout_validation(standin: StandIn) -> None:  # noqa: F811
    _client, session = signed_up(standin)
    bearer = {"Authorization": f"Bearer {session.access_token}",
              "X-Supabase-Api-Version": "2024-01-01"}
    bad = raw(standin, "POST", "/auth/v1/logout?scope=everywhere", headers=bearer)
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_failed"
    assert raw(standin, "POST", "/auth/v1/logout").status_code == 401
    ok = raw(standin, "POST", "/auth/v1/logout?scope=local", headers=bearer)
    assert ok.status_code == 204 and ok.content == b""


def test_retryable_errors_from_the_gateway(standin: StandIn) -> None:  # noqa: F811
    client, session = signed_up(standin)
    standin.fail_next("/auth/v1/token", status=503)
    with pytest.raises(AuthRetryableError) as info:
        client.refresh_session(session.refresh_token)
    assert info.value.status == 503
    # Nothing happened server-side: the same token still works.
    assert client.refresh_session(session.refresh_token).session

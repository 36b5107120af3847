"""JWTs: signing, and the two verifiers (GoTrue's and PostgREST's), both on the stand-in's
clock rather than PyJWT's own. Verification goes through a :class:`Verifier`: the legacy
HS256 secret, or a JWKS (asymmetric public keys picked by ``kid`` plus ``oct`` secrets)."""

from __future__ import annotations

import functools
import json
import secrets
import string
import threading
from collections import OrderedDict
from typing import Any

import jwt

ALPHABET = string.ascii_letters + string.digits

#: The Supabase CLI's well-known local JWT secret (``supabase start``); used by
#: ``python -m tests.standin`` when no ``--jwt-secret`` is given, so keys stay stable.
CLI_DEFAULT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


def random_secret(length: int = 40) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def sign(claims: dict[str, Any], secret: str, headers: dict[str, Any] | None = None) -> str:
    """``{"alg":"HS256","typ":"JWT"}`` + claims, signed with the project secret."""
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers)


def api_key(role: str, secret: str, *, iat: int, exp: int, ref: str = "standin") -> str:
    """A legacy Supabase API key: a long-lived HS256 JWT with ``role`` anon or service_role."""
    return sign({"iss": "supabase", "ref": ref, "role": role, "iat": iat, "exp": exp}, secret)


class JwtProblem(Exception):
    """Why a JWT was refused. ``kind`` is ``"decode"`` (structure or signature) or
    ``"claims"`` (exp/nbf/iat/aud...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Verifier:
    """The keys a server verifies with, built from a JWKS document (``keys``: EC/RSA public
    keys with a ``kid``; ``oct`` secrets, with or without ``kid``). ``cache_id`` changes when
    the keys do."""

    def __init__(self, jwks: dict[str, Any], cache_id: Any) -> None:
        self.cache_id = cache_id
        self.by_kid: dict[str, jwt.PyJWK] = {}
        self.secrets: list[jwt.PyJWK] = []
        for data in jwks.get("keys", []):
            key = jwt.PyJWK(data)
            if data.get("kid"):
                self.by_kid[data["kid"]] = key
            if data.get("kty") == "oct" and not data.get("kid"):
                self.secrets.append(key)

    @classmethod
    def for_secret(cls, secret: str) -> Verifier:
        import base64

        k = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
        return cls({"keys": [{"kty": "oct", "alg": "HS256", "k": k}]}, ("secret", secret))

    def candidates(self, header: dict[str, Any]) -> list[jwt.PyJWK]:
        kid = header.get("kid")
        if kid:
            key = self.by_kid.get(kid)
            return [key] if key is not None else []
        return list(self.secrets)


Keys = str | Verifier

_CACHE_SIZE = 8192
_cache: OrderedDict[tuple[str, Any], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()


@functools.lru_cache(maxsize=64)
def _secret_verifier(secret: str) -> Verifier:
    return Verifier.for_secret(secret)


def _verifier(keys: Keys) -> Verifier:
    return _secret_verifier(keys) if isinstance(keys, str) else keys


def _decode_signed(token: str, keys: Keys) -> dict[str, Any]:
    """Signature-checked claims, without any time checks. Raises JwtProblem("decode").
    Tokens whose signature checked out are remembered (PyJWT's decoding is the costliest
    step of a REST call, and clients send the same token again and again)."""
    verifier = _verifier(keys)
    key = (token, verifier.cache_id)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return dict(cached)
    claims = _decode_signed_uncached(token, verifier)
    with _cache_lock:
        _cache[key] = dict(claims)
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return claims


def _decode_signed_uncached(token: str, verifier: Verifier) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtProblem("decode", f"Expected 3 parts in JWT; got {len(parts)}")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise JwtProblem("decode", f"JWT cryptographic operation failed: {exc}") from exc
    alg = header.get("alg")
    if alg not in ("HS256", "ES256", "RS256"):
        raise JwtProblem("decode", "Wrong or unsupported encoding algorithm")
    candidates = [k for k in verifier.candidates(header) if k.algorithm_name == alg]
    if not candidates:
        raise JwtProblem("decode", "No suitable key or wrong key type")
    for candidate in candidates[:-1]:
        try:
            return _decode_with(token, candidate, alg)
        except JwtProblem:
            continue
    return _decode_with(token, candidates[-1], alg)


def _decode_with(token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise JwtProblem("decode", "No suitable key or wrong key type") from exc
    except jwt.PyJWTError as exc:
        raise JwtProblem("decode", f"JWT cryptographic operation failed: {exc}") from exc
    if not isinstance(claims, dict):
        raise JwtProblem("claims", "Parsing claims failed")
    return claims


def _number(claims: dict[str, Any], key: str) -> float | None:
    value = claims.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JwtProblem("claims", "Parsing claims failed")
    return float(value)


def verify_postgrest(token: str, keys: Keys, now: float, leeway: float = 30.0,
                     audience: str | None = None) -> dict[str, Any]:
    """PostgREST's check (docs ``auth.rst``): signature, then exp/nbf/iat with a 30 s skew,
    then ``aud`` only if ``jwt-aud`` is configured."""
    if token == "":
        raise JwtProblem("decode", "Empty JWT is sent in Authorization header")
    claims = _decode_signed(token, keys)
    exp = _number(claims, "exp")
    if exp is not None and now > exp + leeway:
        raise JwtProblem("claims", "JWT expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and now < nbf - leeway:
        raise JwtProblem("claims", "JWT not yet valid")
    iat = _number(claims, "iat")
    if iat is not None and now < iat - leeway:
        raise JwtProblem("claims", "JWT issued at future")
    if audience is not None:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if aud is not None and audience not in auds:
            raise JwtProblem("claims", "JWT not in audience")
    return claims


def verify_gotrue(token: str, keys: Keys, now: float) -> dict[str, Any]:
    """GoTrue's check (golang-jwt v5, no leeway). Messages follow golang-jwt's wording, which
    GoTrue prefixes with ``invalid JWT: unable to parse or verify signature, ``."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtProblem("decode",
                         "token is malformed: token contains an invalid number of segments")
    try:
        claims = _decode_signed(token, keys)
    except JwtProblem as exc:
        if exc.message == "No suitable key or wrong key type":
            raise JwtProblem("decode", "token signature is invalid: signature is invalid") from exc
        if exc.message == "Wrong or unsupported encoding algorithm":
            raise JwtProblem("decode", "token is unverifiable: signing method is invalid") from exc
        raise JwtProblem("decode", "token is malformed: could not JSON decode") from exc
    try:
        exp = _number(claims, "exp")
        nbf = _number(claims, "nbf")
    except JwtProblem as exc:
        raise JwtProblem("claims", "token is malformed: invalid type for claim") from exc
    if exp is not None and now >= exp:
        raise JwtProblem("claims", "token has invalid claims: token is expired")
    if nbf is not None and now < nbf:
        raise JwtProblem("claims", "token has invalid claims: token is not valid yet")
    return claims


def unverified_claims(token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)

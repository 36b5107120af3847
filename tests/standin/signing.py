"""Supabase Auth's JWT signing keys, as the stand-in models them.

A project starts on the **legacy JWT secret** (HS256, tokens carry no ``kid``) or on an
**asymmetric signing key** (ES256, tokens carry the key's ``kid``). Rotation makes a new key
current; the one it replaces becomes a *previous* key that still verifies (its tokens keep
working until they expire) until it is revoked. Symmetric keys are never published: the JWKS
at ``/auth/v1/.well-known/jwks.json`` lists the public halves of the asymmetric keys that are
not revoked (Supabase docs, "JWT Signing Keys", https://supabase.com/docs/guides/auth/signing-keys).

PostgREST on Supabase verifies through a JWKS too: the published keys plus the legacy secret
as an ``oct`` key while it is not revoked (so legacy anon/service_role API keys and old
tokens keep working). :meth:`KeyRing.verification_jwks` is that document; the REST side of
the stand-in parses it with PyJWT's ``PyJWKSet`` rather than looking at the ring directly.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ASYMMETRIC = {"ES256"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class SigningKey:
    kid: str | None  # None: the legacy JWT secret (GoTrue puts no kid in its tokens)
    alg: str
    secret: str | None = None
    private: Any = None
    status: str = "current"  # current | previous | revoked

    def public_jwk(self) -> dict[str, Any] | None:
        if self.alg not in ASYMMETRIC:
            return None  # symmetric keys are never published
        numbers = self.private.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
                "key_ops": ["verify"], "kid": self.kid,
                "x": _b64(numbers.x.to_bytes(32, "big")),
                "y": _b64(numbers.y.to_bytes(32, "big"))}

    def oct_jwk(self) -> dict[str, Any]:
        assert self.secret is not None
        return {"kty": "oct", "alg": "HS256", "k": _b64(self.secret.encode()),
                **({"kid": self.kid} if self.kid else {})}


@dataclass
class KeyRing:
    legacy_secret: str
    keys: list[SigningKey] = field(default_factory=list)
    version: int = 0  # bumped on every change: verification caches key on it
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, legacy_secret: str, alg: str = "HS256") -> KeyRing:
        ring = cls(legacy_secret)
        ring.reset(alg)
        return ring

    def reset(self, alg: str = "HS256") -> None:
        """Only the legacy secret; with ``alg="ES256"`` a project migrated to an asymmetric
        key: the ES256 key is current and the legacy secret a previous (still verifying) key,
        which is how Supabase migrates projects (legacy API keys keep working)."""
        with self._lock:
            self.keys = [SigningKey(kid=None, alg="HS256", secret=self.legacy_secret)]
            self.version += 1
        if alg != "HS256":
            self.rotate(alg)

    def rotate(self, alg: str = "ES256") -> str:
        """A new current key; the current one becomes previous. Returns the new ``kid``."""
        if alg not in ASYMMETRIC:
            raise ValueError(f"the stand-in rotates to ES256 keys only, not {alg}")
        key = SigningKey(kid=str(uuid.uuid4()), alg=alg, private=ec.generate_private_key(
            ec.SECP256R1()))
        with self._lock:
            for old in self.keys:
                if old.status == "current":
                    old.status = "previous"
            self.keys.append(key)
            self.version += 1
        return str(key.kid)

    def revoke(self, kid: str | None) -> None:
        """Revoke a previous key (``None``: the legacy secret): its tokens stop verifying."""
        with self._lock:
            for key in self.keys:
                if key.kid == kid:
                    if key.status == "current":
                        raise ValueError("rotate before revoking the current key")
                    key.status = "revoked"
            self.version += 1

    @property
    def current(self) -> SigningKey:
        return next(k for k in self.keys if k.status == "current")

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.current
        if key.alg == "HS256":
            return jwt.encode(claims, key.secret, algorithm="HS256")
        return jwt.encode(claims, key.private, algorithm=key.alg,
                          headers={"kid": key.kid, "typ": "JWT"})

    def published_jwks(self) -> dict[str, Any]:
        """What ``GET /auth/v1/.well-known/jwks.json`` answers."""
        with self._lock:
            live = [k for k in self.keys if k.status != "revoked"]
        return {"keys": [jwk for k in live if (jwk := k.public_jwk()) is not None]}

    def verification_jwks(self) -> dict[str, Any]:
        """The JWKS the REST side is configured with: published keys + the legacy secret."""
        doc = self.published_jwks()
        with self._lock:
            legacy = [k for k in self.keys if k.kid is None and k.status != "revoked"]
        doc["keys"].extend(k.oct_jwk() for k in legacy)
        return json.loads(json.dumps(doc))

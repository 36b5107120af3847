"""``python -m tests.standin``: serve the stand-in until interrupted.

    python -m tests.standin --port 54321 \
        --database-url postgresql://postgres@127.0.0.1:5432/mftrack_standin

then point mftrack at it:

    MFTRACK_SUPABASE_URL=http://127.0.0.1:54321 MFTRACK_SUPABASE_ANON_KEY=<printed key> \
        mftrack login
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

import psycopg
from psycopg import sql

from . import db, jwtutil
from .server import StandIn

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/mftrack_standin"


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist yet."""
    name = db.database_name(url)
    admin = db.conninfo_with(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            print(f"created database {name}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.standin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=54321, help="0 picks a free port")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="created if missing; bootstrap.sql and pending migrations are"
                             " applied (default: %(default)s)")
    parser.add_argument("--temporary", action="store_true",
                        help="use a new mftrack_test_<random> database, dropped on exit"
                             " (--database-url then names the server to create it on)")
    parser.add_argument("--jwt-secret", default=jwtutil.CLI_DEFAULT_SECRET,
                        help="HS256 project secret (default: the Supabase CLI's local one)")
    parser.add_argument("--anon-key", help="accept this anon key instead of generating one")
    parser.add_argument("--service-key", help="accept this service_role key")
    parser.add_argument("--no-autoconfirm", action="store_true",
                        help="require email confirmation (hosted default)")
    parser.add_argument("--reuse-interval", type=float, default=10.0)
    parser.add_argument("--jwt-exp", type=int, default=3600)
    parser.add_argument("--postgrest-version", type=int, default=13, choices=[12, 13])
    parser.add_argument("--max-rows", type=int, default=1000,
                        help="PostgREST db-max-rows (0 = unlimited)")
    parser.add_argument("--signing", default="HS256", choices=["HS256", "ES256"],
                        help="sign access tokens with the legacy secret (HS256) or an ES256 "
                             "key published at /auth/v1/.well-known/jwks.json")
    parser.add_argument("--ready-file", type=Path,
                        help="once serving, write url/keys/secret/database as JSON here")
    args = parser.parse_args(argv)

    if args.temporary:
        admin = db.conninfo_with(args.database_url, dbname="postgres")
        standin = StandIn.temporary(admin, jwt_secret=args.jwt_secret,
                                    anon_key=args.anon_key, service_key=args.service_key,
                                    host=args.host, port=args.port, signing_alg=args.signing)
    else:
        ensure_database(args.database_url)
        standin = StandIn(args.database_url, jwt_secret=args.jwt_secret,
                          anon_key=args.anon_key, service_key=args.service_key,
                          host=args.host, port=args.port, signing_alg=args.signing)
    standin.gotrue.settings.autoconfirm = not args.no_autoconfirm
    standin.gotrue.settings.reuse_interval = args.reuse_interval
    standin.gotrue.settings.jwt_exp = args.jwt_exp
    standin.postgrest.settings.version = args.postgrest_version
    standin.postgrest.settings.max_rows = args.max_rows or None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    standin.start()
    try:
        if args.ready_file is not None:
            tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
            tmp.write_text(json.dumps({
                "url": standin.url, "anon_key": standin.anon_key,
                "service_key": standin.service_key, "jwt_secret": standin.jwt_secret,
                "publishable_key": standin.publishable_key, "secret_key": standin.secret_key,
                "database_url": standin.database_url, "pid": os.getpid(),
            }), encoding="utf-8")
            tmp.replace(args.ready_file)
        print(f"Supabase stand-in running at {standin.url}", flush=True)
        print(f"  database:     {standin.database_url}", flush=True)
        print(f"  migrations:   {', '.join(standin.applied_migrations) or '(none new)'}",
              flush=True)
        print(f"  anon key:     {standin.anon_key}", flush=True)
        print(f"  service key:  {standin.service_key}", flush=True)
        print(f"  publishable:  {standin.publishable_key}", flush=True)
        print(f"  secret key:   {standin.secret_key}", flush=True)
        print(f"  signing:      {standin.signing_alg}", flush=True)
        print(f"  JWT secret:   {standin.jwt_secret}", flush=True)
        print("  OTP codes are printed here (no email is sent).", flush=True)
        print(flush=True)
        print(f"  MFTRACK_SUPABASE_URL={standin.url} "
              f"MFTRACK_SUPABASE_ANON_KEY={standin.anon_key} mftrack login", flush=True)
        seen = 0
        while not stop.wait(0.5):
            outbox = list(standin.gotrue.outbox)
            for message in outbox[seen:]:
                print(f"[outbox] {message.kind} code for {message.email}: {message.code}",
                      flush=True)
            seen = len(outbox)
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

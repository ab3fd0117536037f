"""``orchestrator keys create|list|revoke``: the API keys, where the server reads them.

Where: ``AUTH__API_KEYS_FILE`` (or ``--file``) and, when ``REDIS_URL`` is set, Redis; both when
both are set. ``create`` prints the new key once, on stdout alone (so ``> key.txt`` keeps it and
nothing else): only its hash is kept. ``list`` shows ids, tenants and scopes, never a key.

Exit codes: 0 done, 1 no such key (revoke), 2 nowhere to keep keys, an unknown scope, or unusable
settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

# The keys' modules and the settings are loaded by ``run`` only: the command line's other commands
# load nothing of the server (tests/test_layers.py).


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "keys",
        help="create, list and revoke API keys",
        description="API keys, kept as hashes in AUTH__API_KEYS_FILE and in Redis when REDIS_URL is set.",
        epilog="Exit status: 0 done, 1 no such key, 2 nowhere to keep keys.",
    )
    parser.add_argument("--file", type=Path, help="the keys file (default $AUTH__API_KEYS_FILE)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key and print it once")
    create.add_argument("--tenant", required=True, help="the tenant the key's caller belongs to")
    create.add_argument(
        "--scope",
        action="append",
        help="what it may do, once per scope (backtest, read, metrics; default backtest and read)",
    )
    create.add_argument("--name", default="", help="a note on whose key it is")
    create.add_argument("--requests-per-s", type=float, help="its own rate, over its tenant's")
    create.add_argument("--burst", type=int, help="its own burst")
    create.add_argument("--backtests-in-flight", type=int, help="its own backtests at once")
    actions.add_parser("list", help="the keys' ids, tenants and scopes (never a key)")
    revoke = actions.add_parser("revoke", help="remove a key: every replica refuses it within a second")
    revoke.add_argument("id", help="the key's id (the 12 hex digits after bto_)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from orchestrator.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    path = args.file or settings.auth.api_keys_file
    redis = _redis(settings.redis_url) if settings.redis_url else None
    if path is None and redis is None:
        print("nowhere to keep keys: set AUTH__API_KEYS_FILE (or --file) or REDIS_URL", file=sys.stderr)
        return 2
    try:
        return {"create": create, "list": show, "revoke": revoke}[args.action](args, path, redis)
    finally:
        if redis is not None:
            redis.close()


def create(args: argparse.Namespace, path: Path | None, redis: Any) -> int:
    from orchestrator.auth import api_keys
    from orchestrator.auth.caller import DEFAULT_SCOPES, SCOPES
    from orchestrator.auth.config import Quota

    unknown = set(args.scope or ()) - SCOPES
    if unknown:
        print(
            f"no such scope: {', '.join(sorted(unknown))} (one of {', '.join(sorted(SCOPES))})",
            file=sys.stderr,
        )
        return 2
    limits = {"requests_per_s": args.requests_per_s, "burst": args.burst}
    limits["backtests_in_flight"] = args.backtests_in_flight
    given = {name: value for name, value in limits.items() if value is not None}
    quota = Quota(**given) if given else None
    key, record = api_keys.new_key(args.tenant, args.scope or DEFAULT_SCOPES, quota, args.name)
    if path is not None:
        api_keys.write_file(path, {**api_keys.read_file(path), record.id: record})
    if redis is not None:
        api_keys.redis_keep(redis, record)
    print(f"created key {record.id} for tenant {record.tenant} ({' '.join(record.scopes)}):", file=sys.stderr)
    print(key)
    print("it is shown once: keep it now", file=sys.stderr)
    return 0


def show(_args: argparse.Namespace, path: Path | None, redis: Any) -> int:
    from orchestrator.auth import api_keys

    records = {
        **(api_keys.read_file(path) if path else {}),
        **(api_keys.redis_records(redis) if redis else {}),
    }
    print("id            tenant               scopes                  created                    name")
    for record in sorted(records.values(), key=lambda record: (record.tenant, record.created)):
        scopes = " ".join(record.scopes)
        print(f"{record.id}  {record.tenant:20} {scopes:23} {record.created:26} {record.name}")
    return 0


def revoke(args: argparse.Namespace, path: Path | None, redis: Any) -> int:
    from orchestrator.auth import api_keys

    found = False
    if path is not None:
        records = api_keys.read_file(path)
        found = records.pop(args.id, None) is not None
        if found:
            api_keys.write_file(path, records)
    if redis is not None:
        found = api_keys.redis_forget(redis, args.id) or found
    if not found:
        print(f"no key {args.id}", file=sys.stderr)
        return 1
    print(f"revoked key {args.id}", file=sys.stderr)
    return 0


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

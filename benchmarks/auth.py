"""What knowing the caller costs, and whether one tenant at its quota slows another.

``python -m benchmarks.auth`` runs both scenarios; ``python -m benchmarks.auth cost`` or
``fairness`` one. Every figure comes from separate processes: the four services
(``benchmarks.service_process``), ``orchestrator serve`` with its default settings but for the
callers', and the clients.

* ``cost``: the same backtests, cache off, services answering at once, 16 clients in a closed loop,
  to four orchestrators at once: ``AUTH__MODE=none``, ``api_key`` (an ``X-API-Key``), ``jwt`` with
  an RS256 token and with an ES256 one (``AUTH__JWKS_FILE``), quotas too high to refuse anything;
  rounds alternate between them. CPU milliseconds per backtest of each server, and its ratio to
  ``none``. Then the verification alone, in this process: microseconds per ``identify`` call.
* ``fairness``: one orchestrator with API keys, ``QUOTA__REQUESTS_PER_S=20``, services taking
  25 ms a call. Tenant B runs backtests one after another, first alone, then while tenant A (in a
  process of its own, so that its sending costs B's client nothing) sends ten times its quota; the
  two phases alternate over rounds. B's p50 and p99 in both, their ratio, and what A got (200s,
  429s, each 429's ``Retry-After``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from benchmarks.processes import process
from benchmarks.suite import JSON, NO_CACHE, ORCHESTRATOR, Measured, closed_loop, services, target
from fakes.realistic import backtest_request
from orchestrator.auth import api_keys
from orchestrator.auth.config import AuthConfig
from orchestrator.auth.identify import Authenticator
from orchestrator.auth.tokens import Verifier

ISSUER, AUDIENCE = "https://idp.bench/", "orchestrator"
#: Quotas no benchmark of cost reaches: what is measured is the check, never a refusal.
UNLIMITED = {
    "QUOTA__REQUESTS_PER_S": "1000000",
    "QUOTA__BURST": "1000000",
    "QUOTA__BACKTESTS_IN_FLIGHT": "100000",
}


def parser() -> argparse.ArgumentParser:
    """The command line (tests/test_docs.py parses every command the docs give with it)."""
    command = argparse.ArgumentParser(prog="python -m benchmarks.auth", description=__doc__.splitlines()[0])
    command.add_argument("scenario", nargs="?", choices=("cost", "fairness", "flood"), help="one scenario")
    command.add_argument("--requests", type=int, default=1200, help="cost: backtests per server")
    command.add_argument("--backtests", type=int, default=60, help="fairness: B's backtests per phase")
    command.add_argument("--rounds", type=int, default=3, help="rounds, alternating the variants")
    # flood: the process that plays tenant A (started by the fairness scenario)
    command.add_argument("--url", help=argparse.SUPPRESS)
    command.add_argument("--key", help=argparse.SUPPRESS)
    command.add_argument("--rate", type=float, default=200.0, help=argparse.SUPPRESS)
    command.add_argument("--seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    return command


# --- the callers -----------------------------------------------------------------------------------


class Identities:
    """A keys file with a key per tenant, a JWKS file with an RSA and an EC key, tokens of each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        made = {tenant: api_keys.new_key(tenant) for tenant in ("a", "b")}
        self.keys = {tenant: key for tenant, (key, _) in made.items()}
        self.keys_file = folder / "keys.json"
        api_keys.write_file(self.keys_file, {record.id: record for _, record in made.values()})
        signing = {
            "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
        }
        jwks = []
        for algorithm, private in signing.items():
            public = jwt.get_algorithm_by_name(algorithm).to_jwk(private.public_key(), as_dict=True)
            jwks.append({**public, "kid": algorithm, "use": "sig", "alg": algorithm})
        self.jwks_file = folder / "jwks.json"
        self.jwks_file.write_text(json.dumps({"keys": jwks}))
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "tenant": "a", "scope": "backtest read", "exp": now + 7200}
        self.tokens = {
            algorithm: jwt.encode(claims, private, algorithm, headers={"kid": algorithm})
            for algorithm, private in signing.items()
        }

    def env(self, mode: str) -> dict[str, str]:
        if mode == "none":
            return {}
        return {
            "AUTH__MODE": mode,
            "AUTH__API_KEYS_FILE": str(self.keys_file),
            "AUTH__JWKS_FILE": str(self.jwks_file),
            "AUTH__ISSUER": ISSUER,
            "AUTH__AUDIENCE": AUDIENCE,
        }

    def config(self) -> AuthConfig:
        return AuthConfig.model_validate(
            {key.removeprefix("AUTH__").lower(): v for key, v in self.env("api_key,jwt").items()}
        )


# --- cost --------------------------------------------------------------------------------------------


async def cost(requests: int = 1200, clients: int = 16, rounds: int = 3) -> list[str]:
    body = orjson.dumps(backtest_request())
    with tempfile.TemporaryDirectory() as folder:
        ids = Identities(Path(folder))
        variants = {
            "none": ("none", {}),
            "api_key": ("api_key", {"X-API-Key": ids.keys["a"]}),
            "jwt RS256": ("jwt", {"Authorization": f"Bearer {ids.tokens['RS256']}"}),
            "jwt ES256": ("jwt", {"Authorization": f"Bearer {ids.tokens['ES256']}"}),
        }
        measured = {name: Measured() for name in variants}
        async with services() as running, AsyncExitStack() as stack:
            servers = {
                name: await stack.enter_async_context(
                    target(ORCHESTRATOR, running, {**NO_CACHE, **UNLIMITED, **ids.env(mode)})
                )
                for name, (mode, _) in variants.items()
            }
            for name, (_, headers) in variants.items():  # warm-up
                await closed_loop(
                    servers[name], body, max(clients, requests // 10), clients, Measured(), headers=headers
                )
            for _ in range(rounds):
                for name, (_, headers) in variants.items():
                    await closed_loop(
                        servers[name], body, requests // rounds, clients, measured[name], headers=headers
                    )
        micro = await verification_us(ids)
    none = measured["none"]
    lines = [
        f"cost of the caller's check: {clients} clients in a closed loop, {len(none.latencies_s)} backtests "
        "per server, services answering at once, cache off",
        f"   {'AUTH__MODE, credential':<24}{'CPU ms/backtest':>16}{'ratio':>8}"
        f"{'req/s':>9}{'p50 ms':>9}{'failed':>8}",
    ]
    for name, m in measured.items():
        lines.append(
            f"   {name:<24}{m.cpu_ms:>16.3f}{m.cpu_ms / none.cpu_ms:>7.3f}x"
            f"{m.per_s:>9.1f}{m.ms(0.5):>9.1f}{m.failures:>8}"
        )
    lines.append("   the check alone, in one process (median of 5 runs of 2,000 calls):")
    lines += [f"   {name:<24}{us:>10.1f} µs a request" for name, us in micro.items()]
    return lines


async def verification_us(ids: Identities, calls: int = 2000, runs: int = 5) -> dict[str, float]:
    """Microseconds a call of ``Authenticator.identify`` takes, for each credential."""
    config = ids.config()
    keys = api_keys.KeyStore(ids.keys_file)
    await keys.load()
    verifier = Verifier(config)
    await verifier.refresh()
    authenticator = Authenticator(config, keys, verifier)
    credentials = {
        "api_key": (None, ids.keys["a"]),
        "jwt RS256": (f"Bearer {ids.tokens['RS256']}", None),
        "jwt ES256": (f"Bearer {ids.tokens['ES256']}", None),
    }
    figures = {}
    for name, (authorization, key) in credentials.items():
        assert (await authenticator.identify(authorization, key)).caller is not None, name
        samples = []
        for _ in range(runs):
            began = time.perf_counter()
            for _ in range(calls):
                await authenticator.identify(authorization, key)
            samples.append((time.perf_counter() - began) / calls * 1e6)
        figures[name] = statistics.median(samples)
    return figures


# --- fairness ----------------------------------------------------------------------------------------


@asynccontextmanager
async def flooding(url: str, key: str, rate: float, seconds: float, into: Path) -> AsyncIterator[None]:
    """Tenant A, in its own process, sending ``rate`` backtests a second for ``seconds``."""
    args = ["-m", "benchmarks.auth", "flood", "--url", url, "--key", key, "--rate", str(rate)]
    with process([*args, "--seconds", str(seconds)], log_to=str(into)):
        await asyncio.sleep(1.0)  # its interpreter started and sending
        yield


async def flood(url: str, key: str, rate: float, seconds: float) -> None:
    """Open loop: a backtest every ``1 / rate`` s whatever the answers, until ``seconds`` pass or
    SIGTERM comes; then prints what came back, as one JSON line."""
    body, statuses, retry_after = orjson.dumps(backtest_request()), Counter[int](), Counter[str]()
    headers = {**JSON, "X-API-Key": key}
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=500)) as session:

        async def one() -> None:
            try:
                async with session.post(url + "/api/backtest", data=body, headers=headers) as answer:
                    await answer.read()
                    statuses[answer.status] += 1
                    if answer.status == 429:
                        retry_after[answer.headers.get("Retry-After", "none")] += 1
            except aiohttp.ClientError:
                statuses[0] += 1

        tasks, began, sent = [], time.perf_counter(), 0
        while not stop.is_set() and time.perf_counter() - began < seconds:
            tasks.append(asyncio.create_task(one()))
            sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, began + sent / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
    print(json.dumps({"sent": sent, "statuses": statuses, "retry_after": retry_after}), flush=True)


async def sequential(url: str, key: str, backtests: int) -> list[float]:
    """Tenant B: backtests one after another; each one's latency."""
    body, latencies = orjson.dumps(backtest_request()), []
    async with aiohttp.ClientSession() as session:
        for _ in range(backtests):
            began = time.perf_counter()
            async with session.post(
                url + "/api/backtest", data=body, headers={**JSON, "X-API-Key": key}
            ) as answer:
                await answer.read()
                assert answer.status == 200, answer.status
            latencies.append(time.perf_counter() - began)
    return latencies


async def fairness(
    backtests: int = 60, rounds: int = 3, quota: float = 20.0, delay_s: float = 0.025, in_flight: int = 4
) -> list[str]:
    """Tenant B's p50 alone and while tenant A sends ten times its quota. A's backtests in flight are
    held to ``in_flight``, below the admission limit's floor (8): with more, A's allowed burst alone
    can fill the process's admission limit once the load shrinks it, and B is refused 503 for it."""
    idle: list[float] = []
    busy: list[float] = []
    floods: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        ids = Identities(Path(folder))
        env = {
            **NO_CACHE,
            **ids.env("api_key"),
            "QUOTA__REQUESTS_PER_S": str(quota),
            "QUOTA__BURST": str(int(2 * quota)),
            "QUOTA__BACKTESTS_IN_FLIGHT": str(in_flight),
        }
        async with services(delay_s=delay_s) as running, target(ORCHESTRATOR, running, env) as served:
            await sequential(served.url, ids.keys["b"], 5)  # warm-up
            for number in range(rounds):
                idle += await sequential(served.url, ids.keys["b"], backtests)
                out = Path(folder) / f"flood-{number}.txt"
                # A sends until B is done (SIGTERM), at most ten minutes
                async with flooding(served.url, ids.keys["a"], 10 * quota, 600, out):
                    busy += await sequential(served.url, ids.keys["b"], backtests)
                floods.append(json.loads(out.read_text().strip().splitlines()[-1]))
                await asyncio.sleep(0.5)
    sent = sum(f["sent"] for f in floods)
    statuses = sum((Counter({int(k): v for k, v in f["statuses"].items()}) for f in floods), Counter())
    retry_after = sum((Counter(f["retry_after"]) for f in floods), Counter())

    def ms(values: list[float], quantile: float) -> float:
        ordered = sorted(values)
        return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    return [
        f"fairness: QUOTA__REQUESTS_PER_S={quota:g} (burst {int(2 * quota)}), "
        f"QUOTA__BACKTESTS_IN_FLIGHT={in_flight}, services taking "
        f"{delay_s * 1000:.0f} ms a call, cache off; tenant B's {len(idle)} backtests one after another "
        "in each phase",
        f"   B alone:                  p50 {ms(idle, 0.5):7.1f} ms   p99 {ms(idle, 0.99):7.1f} ms",
        f"   B while A sends {10 * quota:g}/s:   p50 {ms(busy, 0.5):7.1f} ms   p99 {ms(busy, 0.99):7.1f} ms",
        f"   B's p50 ratio busy / alone: {ms(busy, 0.5) / ms(idle, 0.5):.3f}x (target: within 1.2x)",
        f"   A sent {sent}: {dict(sorted(statuses.items()))}; Retry-After of its 429s: {dict(retry_after)}",
    ]


async def main(args: argparse.Namespace) -> None:
    if args.scenario == "flood":
        await flood(args.url, args.key, args.rate, args.seconds)
        return
    if args.scenario in (None, "cost"):
        print("\n".join(await cost(args.requests, rounds=args.rounds)), flush=True)
    if args.scenario in (None, "fairness"):
        print("\n".join(await fairness(args.backtests, args.rounds)), flush=True)


if __name__ == "__main__":
    from orchestrator.logs import configure_logging

    configure_logging("WARNING")
    asyncio.run(main(parser().parse_args(sys.argv[1:])))

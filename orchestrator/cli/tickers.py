"""``orchestrator tickers QUERY``: search tickers by symbol or name on a running orchestrator.

Exit codes: 0 an answer (even an empty one), 1 the orchestrator answered with an error, 2 no usable
answer, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.cli import options
from orchestrator.cli.client import print_table, runner, say
from orchestrator.client import Failed, OrchestratorClient


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "tickers",
        help="search tickers by symbol or name",
        description="Search tickers by symbol or name (GET /api/tickers/search) and print a table.",
        epilog=options.EXIT_STATUS,
    )
    parser.add_argument("query", help="a symbol or a part of a name, e.g. TQ or apple")
    parser.add_argument(
        "--limit", type=int, default=10, metavar="N", help="at most N results (1-50, default 10)"
    )
    options.add_client_options(parser, timeout_s=10.0)
    parser.set_defaults(run=runner(tickers))


async def tickers(args: argparse.Namespace, out: Console, err: Console) -> int:
    """The command, awaitable so that tests can drive it with their own consoles."""
    try:
        async with OrchestratorClient(args.url, args.timeout) as client:
            reply = await client.search_tickers(args.query, args.limit)
    except Failed as failure:
        say(err, str(failure))
        return failure.exit_code
    if args.json:
        out.file.write(reply.text + "\n")
        return 0
    answer = reply.envelope
    results = answer["data"]["results"]
    if not results:
        say(out, f"No ticker matches {answer['data']['query']!r}.")
        return 0
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for heading in ("Symbol", "Name", "Kind", "Exchange"):
        table.add_column(heading)
    for item in results:
        cells = (item["symbol"], item["name"], item["kind"], item.get("exchange") or "")
        table.add_row(*(Text(str(cell)) for cell in cells))
    print_table(out, table)
    return 0

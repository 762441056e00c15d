"""``python -m bench``: seed a scratch PostgreSQL database, run every benchmark against real
uvicorn processes, print the tables and write the JSON.

    .venv/bin/python -m bench                      # the documented run (about 4 minutes)
    .venv/bin/python -m bench --only dashboard statements --seconds 6
    .venv/bin/python -m bench --smoke              # every benchmark for ~1 s on tiny data
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import uvloop

from bench.config import BENCHMARKS, full, smoke
from bench.run import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default=None,
                        help="PostgreSQL URL the scratch database is created next to "
                             "(default postgres://postgres@127.0.0.1:5432/test; never written)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=None)
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds per side of each throughput comparison")
    parser.add_argument("--subscribers", type=int, default=None)
    parser.add_argument("--webhook-workers", type=int, default=None,
                        help="uvicorn worker processes for the webhook benchmark (default 1)")
    parser.add_argument("--smoke", action="store_true", help="tiny data, ~1 s per benchmark")
    parser.add_argument("--json", type=Path, default=Path("bench/results/latest.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    config = smoke() if args.smoke else full()
    changes = {
        "admin_url": args.admin_url, "only": tuple(args.only) if args.only else None,
        "seconds": args.seconds, "subscribers": args.subscribers,
        "webhook_workers": args.webhook_workers,
    }
    config = replace(config, **{k: v for k, v in changes.items() if v is not None})
    report = uvloop.run(run(config))
    print(report.render())
    report.write_json(args.json)
    print(f"\nJSON: {args.json}   server logs: {report.details['logs']}")
    return 0 if all(t.met for t in report.targets) else 1


if __name__ == "__main__":
    sys.exit(main())

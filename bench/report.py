"""What a run found: one row per target (figure, limit, met or not) plus detail tables, printed
as plain-text tables and written as JSON."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import LoadResult


@dataclass(frozen=True, slots=True)
class Target:
    benchmark: str
    measure: str
    figure: str
    limit: str
    met: bool


@dataclass
class Report:
    config: dict[str, Any]
    targets: list[Target] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    seconds: float = 0.0

    def target(self, benchmark: str, measure: str, figure: str, limit: str, met: bool) -> None:
        self.targets.append(Target(benchmark, measure, figure, limit, met))

    def table(self, title: str, header: list[str], rows: list[list[str]]) -> None:
        self.tables.append((title, header, rows))

    def load_table(self, title: str, results: list[LoadResult]) -> None:
        self.table(title, ["side", "req/s", "p50 ms", "p99 ms", "ok", "errors", "client CPU",
                           "server CPU", "server CPU ms/req"], [
            [r.name, f"{r.rps:,.0f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", f"{r.ok:,}",
             f"{r.errors:,}", f"{r.client_cpu:.0%}",
             f"{r.server_cpu:.0%}" if r.server_cpu is not None else "-",
             f"{r.server_cpu_ms_per_request:.2f}" if r.server_cpu_ms_per_request else "-"]
            for r in results])

    def render(self) -> str:
        lines: list[str] = []
        for title, header, rows in self.tables:
            lines += ["", title, *_grid(header, rows)]
        lines += ["", f"Targets (run of {self.seconds:.0f} s, {self.started_at}):"]
        lines += _grid(["#", "measure", "figure", "target", "met"],
                       [[t.benchmark, t.measure, t.figure, t.limit, "yes" if t.met else "NO"]
                        for t in self.targets])
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "seconds": round(self.seconds, 1),
            "machine": {"python": platform.python_version(), "cpus": _cpus(),
                        "platform": platform.platform()},
            "config": self.config,
            "targets": [asdict(t) for t in self.targets],
            "details": self.details,
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    rule = "  ".join("-" * w for w in widths)
    return [fmt.format(*header), rule, *(fmt.format(*map(str, r)) for r in rows)]

"""What one phase of the USSD benchmark measured: latencies, errors, and their percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MAX_ERROR_SAMPLES = 5


@dataclass
class Tally:
    """What one phase measured: latencies (seconds) of requests inside the window, and errors."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    window: float = 0.0
    sent: int = 0
    send_lag: list[float] = field(default_factory=list)
    by_step: dict[int, list[float]] = field(default_factory=dict)  # step of the session: latencies

    def error(self, what: str) -> None:
        """Count an error and keep the first few for the report."""
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(what)

    def add(self, other: Tally) -> None:
        """Pool another window's figures into this one (rounds of the same phase)."""
        self.latencies += other.latencies
        self.send_lag += other.send_lag
        for step, latencies in other.by_step.items():
            self.by_step.setdefault(step, []).extend(latencies)
        self.errors += other.errors
        self.error_samples = (self.error_samples + other.error_samples)[:MAX_ERROR_SAMPLES]
        self.window += other.window
        self.sent += other.sent

    def summary(self) -> dict:
        """Requests per second and latency percentiles in milliseconds."""
        ordered = sorted(self.latencies)
        lags = sorted(self.send_lag)
        figures = {
            "requests": len(ordered),
            "seconds": round(self.window, 3),
            "rps": round(len(ordered) / self.window, 1) if self.window else 0.0,
            "errors": self.errors,
            "error_samples": self.error_samples,
        }
        for name, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9), ("max", 100)):
            figures[f"{name}_ms"] = round(percentile(ordered, p) * 1000, 2)
        # Which screen is slow: p50/p99 of each request of the session (0 is the first dial).
        figures["p50_p99_ms_by_step"] = [
            [round(percentile(sorted(self.by_step[step]), p) * 1000, 2) for p in (50, 99)]
            for step in sorted(self.by_step)
        ]
        if lags:
            figures["send_lag_p99_ms"] = round(percentile(lags, 99) * 1000, 3)
        return figures


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank percentile of a sorted list (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]

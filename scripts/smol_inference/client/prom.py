"""Parsed Prometheus samples from `/metrics`, with PromQL-style histogram quantiles.

`histogram_quantile` follows Prometheus' own algorithm (promql/quantile.go): find the bucket where the
rank q * count falls and interpolate linearly inside it; a rank in the +Inf bucket answers the largest
finite bound. TGI has no time-to-first-token metric; its Grafana dashboard derives it from the queue and
prefill histograms (TGI's assets/tgi_grafana.json). vLLM and SGLang export TTFT and load gauges under
their own names (server_kinds.py); `load()` and `time_to_first_token()` read whichever the scrape holds.
Taught in text_generation_inference/operate_and_scale.md, "Monitoring".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from .server_kinds import LOAD_GAUGES, QUEUE_HISTOGRAMS, TGI, TTFT_HISTOGRAMS, engine_of_metrics

_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


@dataclass(frozen=True)
class Sample:
    """One line of the exposition: `name{labels} value`."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    value: float = 0.0

    def matches(self, labels: dict[str, str]) -> bool:
        return all(self.labels.get(key) == str(value) for key, value in labels.items())


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float:
    """The q-quantile (0 <= q <= 1) of a cumulative histogram given as (upper_bound, count) pairs."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return math.nan
    if not math.isinf(ordered[-1][0]):
        raise ValueError("a histogram needs a +Inf bucket")
    total = ordered[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for index, (upper_bound, count) in enumerate(ordered):
        if count >= rank:
            if math.isinf(upper_bound):
                return ordered[index - 1][0] if index > 0 else math.nan
            if index == 0 and upper_bound <= 0:
                return upper_bound
            in_bucket = count - lower_count
            if in_bucket <= 0:
                return upper_bound
            return lower_bound + (upper_bound - lower_bound) * (rank - lower_count) / in_bucket
        lower_bound, lower_count = upper_bound, count
    return ordered[-1][0]


class Metrics:
    """All samples of one scrape. `metrics.value("tgi_queue_size")`, `metrics.quantile(...)`."""

    def __init__(self, samples: list[Sample]) -> None:
        self.samples = samples

    @classmethod
    def parse(cls, text: str) -> Metrics:
        samples = [Sample(s.name, dict(s.labels), float(s.value))
                   for family in text_string_to_metric_families(text) for s in family.samples]
        return cls(samples)

    def names(self) -> set[str]:
        """Every sample name, plus the base name of each `_bucket`/`_sum`/`_count`/`_total` sample."""
        found = {s.name for s in self.samples}
        for name in list(found):
            for suffix in _SUFFIXES:
                if name.endswith(suffix):
                    found.add(name[: -len(suffix)])
        return found

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    def find(self, name: str, **labels: str) -> list[Sample]:
        return [s for s in self.samples if s.name == name and s.matches(labels)]

    def value(self, name: str, default: float = 0.0, **labels: str) -> float:
        """The sum over all samples named `name` whose labels include `labels` (a counter or a gauge).

        A counter exported as `name_total` (prometheus_client's convention) is found under `name` too.
        """
        found = self.find(name, **labels) or self.find(name + "_total", **labels)
        return sum(s.value for s in found) if found else default

    def buckets(self, name: str, **labels: str) -> list[tuple[float, float]]:
        """(upper_bound, cumulative count) of histogram `name`, summed over the other labels."""
        totals: dict[float, float] = defaultdict(float)
        for s in self.find(name + "_bucket", **labels):
            totals[float(s.labels["le"])] += s.value
        return sorted(totals.items())

    def count(self, name: str, **labels: str) -> float:
        return self.value(name + "_count", 0.0, **labels)

    def mean(self, name: str, **labels: str) -> float:
        count = self.count(name, **labels)
        return self.value(name + "_sum", 0.0, **labels) / count if count else math.nan

    def quantile(self, name: str, q: float, **labels: str) -> float:
        """PromQL's histogram_quantile(q, name_bucket{labels}) on this one scrape."""
        return histogram_quantile(q, self.buckets(name, **labels))

    def engine(self) -> str | None:
        """"tgi", "vllm" or "sglang": whose load gauges this scrape holds (None for none of them)."""
        return engine_of_metrics(self.names())

    def load(self) -> tuple[float, float]:
        """(queued, running) requests from the engine's gauges; ValueError when no known gauge is there."""
        engine = self.engine()
        if engine is None:
            raise ValueError("no tgi_*, vllm:* or sglang:* load gauges in this scrape")
        queued, running = LOAD_GAUGES[engine]
        return self.value(queued), self.value(running)

    def queue_time(self, q: float = 0.5) -> float:
        """q-quantile of the time requests waited in the queue, in seconds (TGI's or vLLM's histogram)."""
        return self.quantile(QUEUE_HISTOGRAMS.get(self.engine() or TGI, QUEUE_HISTOGRAMS[TGI]), q)

    def time_to_first_token(self, q: float = 0.5) -> float:
        """TTFT q-quantile in seconds: vLLM's/SGLang's own histogram, else TGI's dashboard estimate
        (queue-time quantile + prefill batch-inference quantile)."""
        ttft = TTFT_HISTOGRAMS.get(self.engine() or TGI)
        if ttft is not None:
            return self.quantile(ttft, q)
        return (self.quantile("tgi_request_queue_duration", q)
                + self.quantile("tgi_batch_inference_duration", q, method="prefill"))

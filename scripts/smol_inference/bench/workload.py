"""What a benchmark run sends: its configuration and its prompts.

Prompts are random words from a small fixed list, one word being about one token for the tokenizers
the course uses (SmolLM2's BPE and the bundled model's), so `prompt_tokens` is approximate by design;
every request gets a different prompt, so no prefix cache can make the numbers look better.
Taught in text_generation_inference/tune_and_measure.md, "Tuning: a concurrency sweep".
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

from .. import settings

APIS = ("tgi", "openai")
_TEXT = ("the cat sat on a mat and the dog ran to see what was new in the old town by the river where "
         "people walk each day to buy bread milk fruit and talk about weather work and home")
_WORDS = _TEXT.split()


def parse_concurrency(text: str) -> list[int]:
    """"8" -> [8]; "1,2,4,8" -> [1, 2, 4, 8] (each >= 1, duplicates dropped, order kept)."""
    levels: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        value = int(part)
        if value < 1:
            raise ValueError(f"concurrency must be >= 1, got {value}")
        if value not in levels:
            levels.append(value)
    if not levels:
        raise ValueError(f"no concurrency level in {text!r}")
    return levels


def default_url() -> str:
    return os.environ.get(settings.ENV_TGI_URL) or f"http://{settings.DEFAULT_HOST}:{settings.DEFAULT_SERVER_PORT}"


@dataclass
class BenchConfig:
    """One run: every concurrency level sends `requests` requests with the same shape."""

    url: str = field(default_factory=default_url)
    api: str = "tgi"
    concurrency: list[int] = field(default_factory=lambda: parse_concurrency(settings.BENCH_CONCURRENCY))
    requests: int = settings.BENCH_REQUESTS
    prompt_tokens: int = settings.BENCH_PROMPT_TOKENS
    max_new_tokens: int = settings.BENCH_MAX_NEW_TOKENS
    seed: int = settings.BENCH_SEED
    timeout_s: float = settings.BENCH_REQUEST_TIMEOUT_S
    model: str | None = None
    api_key: str | None = None

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        if self.url.endswith("/v1"):
            self.url = self.url[: -len("/v1")]
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        if self.api not in APIS:
            raise ValueError(f"api must be one of {APIS}, got {self.api!r}")
        if isinstance(self.concurrency, (str, int)):
            self.concurrency = parse_concurrency(str(self.concurrency))
        for name in ("requests", "prompt_tokens", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")

    def as_dict(self) -> dict:
        return {"url": self.url, "api": self.api, "concurrency": list(self.concurrency),
                "requests": self.requests, "prompt_tokens": self.prompt_tokens,
                "max_new_tokens": self.max_new_tokens, "seed": self.seed, "timeout_s": self.timeout_s,
                "model": self.model}


def make_prompts(count: int, prompt_tokens: int, seed: int) -> list[str]:
    """`count` different prompts of about `prompt_tokens` tokens each, the same for the same seed."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(prompt_tokens)) for _ in range(count)]

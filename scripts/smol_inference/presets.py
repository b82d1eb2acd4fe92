"""Generation parameters with validation, and named presets with the reason for each.

The parameter names and their rules follow `transformers.GenerationConfig` (greedy vs sampling,
temperature, top_k, top_p, repetition_penalty, stop strings) and TGI's `/generate` validation
(router/src/validation.rs: temperature > 0, top_k > 0, at most 4 stops; top_p here may be 1, "off").
Taught in inference_pipeline.md, "Generation parameters" and "Presets".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from . import settings


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


@dataclass(frozen=True)
class GenerationParams:
    """How to pick the next token, and when to stop (inference_pipeline.md, "Generation parameters").

    `do_sample=None` means: sample when a value changes the distribution (temperature != 1, any
    top_k, top_p < 1), otherwise greedy: TGI's rule (utils/tokens.py, `NextTokenChooser`), so
    `temperature=1.0` alone stays greedy. With greedy decoding the sampling knobs are ignored.
    """

    max_new_tokens: int = settings.DEFAULT_MAX_NEW_TOKENS
    do_sample: bool | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif isinstance(self.stop, list):
            object.__setattr__(self, "stop", tuple(self.stop))
        _check(_is_int(self.max_new_tokens) and 1 <= self.max_new_tokens <= settings.MAX_NEW_TOKENS_LIMIT,
               f"max_new_tokens must be an integer from 1 to {settings.MAX_NEW_TOKENS_LIMIT}, "
               f"got {self.max_new_tokens!r}")
        _check(self.do_sample is None or isinstance(self.do_sample, bool),
               f"do_sample must be true, false or null, got {self.do_sample!r}")
        if self.temperature is not None:
            _check(_is_number(self.temperature) and self.temperature > 0,
                   f"temperature must be a number > 0, got {self.temperature!r} "
                   "(for greedy decoding leave temperature unset or set do_sample=False)")
        if self.top_k is not None:
            _check(_is_int(self.top_k) and self.top_k >= 1, f"top_k must be an integer >= 1, got {self.top_k!r}")
        if self.top_p is not None:
            _check(_is_number(self.top_p) and 0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p!r}")
        if self.repetition_penalty is not None:
            _check(_is_number(self.repetition_penalty) and self.repetition_penalty > 0,
                   f"repetition_penalty must be a number > 0, got {self.repetition_penalty!r}")
        if self.seed is not None:
            _check(_is_int(self.seed) and 0 <= self.seed < 2**63, f"seed must be an integer >= 0, got {self.seed!r}")
        _check(isinstance(self.stop, tuple) and all(isinstance(s, str) and s for s in self.stop),
               f"stop must be a list of non-empty strings, got {self.stop!r}")
        _check(len(self.stop) <= settings.MAX_STOP_SEQUENCES,
               f"stop may hold at most {settings.MAX_STOP_SEQUENCES} strings, got {len(self.stop)}")

    @property
    def sampling(self) -> bool:
        """True when the next token is drawn at random, False for greedy decoding."""
        if self.do_sample is not None:
            return self.do_sample
        return ((self.temperature is not None and self.temperature != 1.0) or self.top_k is not None
                or (self.top_p is not None and self.top_p < 1.0))

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `model.generate` (seed and stop strings are handled by the caller)."""
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": self.sampling}
        if self.sampling:
            # Unset knobs are neutral values, so a model's own generation_config cannot leak in.
            kwargs.update(temperature=self.temperature or 1.0, top_k=self.top_k or 0, top_p=self.top_p or 1.0)
        else:
            kwargs.update(temperature=None, top_k=None, top_p=None)
        if self.repetition_penalty is not None:
            kwargs["repetition_penalty"] = self.repetition_penalty
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "stop": list(self.stop)}


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


@dataclass(frozen=True)
class Preset:
    """A named set of generation parameters and why you would choose it."""

    name: str
    reason: str
    params: GenerationParams

    def __post_init__(self) -> None:
        _check(bool(self.name) and bool(self.reason), "a preset needs a name and a reason")


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("greedy", "always the most likely token: deterministic, best for facts, tests and short "
           "answers, but it can loop on long texts",
           GenerationParams(do_sample=False)),
    Preset("precise", "sampling kept close to the top tokens (low temperature, small nucleus): "
           "factual answers and code with a little variety",
           GenerationParams(temperature=0.3, top_p=0.8, top_k=20, repetition_penalty=1.05)),
    Preset("balanced", "a common chat default: varied but coherent replies, mild penalty on repeats",
           GenerationParams(temperature=0.7, top_p=0.9, top_k=50, repetition_penalty=1.1)),
    Preset("creative", "flatter distribution and wider nucleus: stories and brainstorming, "
           "more surprises and more mistakes",
           GenerationParams(temperature=1.0, top_p=0.95, repetition_penalty=1.15,
                            max_new_tokens=settings.DEFAULT_MAX_NEW_TOKENS * 2)),
)}


def make_params(preset: str | Preset | GenerationParams | None = None, **overrides: Any) -> GenerationParams:
    """Start from a preset (or the defaults) and apply overrides; raise ValueError on bad input.

    inference_pipeline.md, "Presets": `make_params("balanced", seed=0, max_new_tokens=32)`.
    """
    if preset is None:
        base = GenerationParams()
    elif isinstance(preset, GenerationParams):
        base = preset
    elif isinstance(preset, Preset):
        base = preset.params
    elif isinstance(preset, str) and preset in PRESETS:
        base = PRESETS[preset].params
    else:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    known = {f.name for f in dataclasses.fields(GenerationParams)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown generation parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dataclasses.replace(base, **overrides)

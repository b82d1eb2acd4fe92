"""Pipeline helpers for lesson 1: load a text-generation pipeline, chat, stream, and batch.

They follow the three stages of a `transformers` pipeline (pre-process: chat template and
tokenizer; forward: `model.generate`; post-process: decode), documented in the transformers
"Pipelines" and "Text generation strategies" guides, and record what a serving engine would
report: tokens generated, time to first token, tokens per second, finish reason.
Taught in inference_pipeline.md (each helper names its section).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from .models import resolve_model
from .presets import PRESETS, GenerationParams, Preset, make_params
from .stopping import StopStreamer
from .stages import (BatchResult, Clock, GenerationResult, Messages, TextGenerator, as_messages, check_prompt, decode,
                     encode, forward)

__all__ = [
    "PRESETS",
    "BatchResult",
    "ChatStream",
    "GenerationParams",
    "GenerationResult",
    "chat",
    "check_prompt",
    "generate_batch",
    "generate_static_batch",
    "load_generator",
    "make_params",
    "pick_device",
    "pick_dtype",
    "stream_chat",
]


def pick_device(device: str = "auto") -> str:
    """"auto" -> "cuda" if a CUDA GPU is present, else "mps" (Apple), else "cpu" (section "Devices and dtypes")."""
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, dtype: Any = "auto") -> Any:
    """float32 on CPU; bfloat16 on GPUs that support it, else float16 (a T4 has no bfloat16)."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype != "auto":
        if not isinstance(getattr(torch, str(dtype), None), torch.dtype):
            raise ValueError(f"unknown dtype {dtype!r}; use auto, float32, float16 or bfloat16")
        return getattr(torch, dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def load_generator(model: str | None = None, *, device: str = "auto", dtype: Any = "auto",
                   quiet: bool = False) -> TextGenerator:
    """A transformers text-generation pipeline for `resolve_model(model)`, ready for batching.

    Section "Loading a pipeline": left padding (decoder-only models continue on the right) and a
    pad token (many chat models ship without one).
    """
    from transformers import pipeline

    name = resolve_model(model, quiet=quiet)
    chosen = pick_device(device)
    generator = pipeline("text-generation", model=name, device=chosen, dtype=pick_dtype(chosen, dtype))
    tokenizer = generator.tokenizer
    if tokenizer is None:
        raise ValueError(f"{name} has no tokenizer: a text-generation pipeline needs one")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    generator.model.generation_config.pad_token_id = tokenizer.pad_token_id
    return generator


def chat(generator: TextGenerator, messages: Messages, *, preset: str | Preset | GenerationParams | None = None,
         **params: Any) -> GenerationResult:
    """One reply to a conversation (or a single user prompt) with its measurements.

    Section "Chat templates"; parameters as in `make_params`, e.g. `chat(g, "Hi", temperature=0.7, seed=0)`.
    A conversation that ends with an assistant message is continued (stages.render_chat). A stop
    string ends the reply wherever it appears, even inside a token, and is cut off (OpenAI's rule).
    """
    chosen = make_params(preset, **params)
    inputs = encode(generator, [messages], chosen)
    clock = Clock()
    output = forward(generator, inputs, chosen, clock)
    return decode(generator, inputs, output, chosen, clock.ttft(), time.perf_counter() - clock.start)[0]


def generate_static_batch(generator: TextGenerator, prompts: Sequence[Messages], *, batch_size: int = 8,
                          sort_by_length: bool = True, preset: str | Preset | GenerationParams | None = None,
                          **params: Any) -> BatchResult:
    """Replies to many prompts, `batch_size` at a time, returned in prompt order (section "Batching").

    Static batching: each batch runs until its longest member finishes, then the next one starts
    (text_generation_inference/how_engines_batch.md, "Continuous batching", contrasts it with continuous
    batching, which transformers' own `model.generate_batch` does). Sorting by length first puts similar
    prompts together, so less padding is computed. Each row samples with its own generator, so with a
    seed `texts[i]` is what `chat(prompts[i], seed=...)` says.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    chosen = make_params(preset, **params)
    order = list(range(len(prompts)))
    if sort_by_length:
        order.sort(key=lambda i: len(as_messages(prompts[i])[-1]["content"]))
    results: list[GenerationResult | None] = [None] * len(prompts)
    start, first_ttft = time.perf_counter(), None
    for lo in range(0, len(order), batch_size):
        chunk = order[lo:lo + batch_size]
        inputs = encode(generator, [prompts[i] for i in chunk], chosen)
        clock = Clock()
        output = forward(generator, inputs, chosen, clock)
        first_ttft = clock.ttft() if first_ttft is None else first_ttft
        for i, result in zip(chunk, decode(generator, inputs, output, chosen, clock.ttft(),
                                           time.perf_counter() - clock.start)):
            results[i] = result
    return BatchResult([r for r in results if r is not None], time.perf_counter() - start, first_ttft or 0.0)


class ChatStream:
    """Text chunks as they are generated; `.result` holds the measurements once done (section "Streaming").

    Generation runs in a background thread that feeds a `TextIteratorStreamer`; `close()` asks it
    to stop at the next token (used when a web client goes away). Stop strings follow OpenAI's rule,
    as in `chat`: text that may be the start of a stop string is held back until it is known.
    """

    def __init__(self, generator: TextGenerator, messages: Messages, params: GenerationParams,
                 timeout_s: float) -> None:
        from transformers import TextIteratorStreamer

        self._generator, self._params = generator, params
        self._inputs = encode(generator, [messages], params)
        self._streamer = TextIteratorStreamer(generator.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                              timeout=timeout_s)
        self._clock = Clock()
        self._cancel = threading.Event()
        self._error: BaseException | None = None
        self.result: GenerationResult | None = None
        self._thread = threading.Thread(target=self._run, name="stream_chat", daemon=True)
        self._thread.start()

    def put(self, value: Any) -> None:  # generate() calls this: note the time, then hand over for decoding
        self._clock.put(value)
        self._streamer.put(value)

    def end(self) -> None:
        self._streamer.end()

    def _run(self) -> None:
        try:
            output = forward(self._generator, self._inputs, self._params, self, self._cancel)
            self.result = decode(self._generator, self._inputs, output, self._params, self._clock.ttft(),
                                 time.perf_counter() - self._clock.start, cancelled=self._cancel.is_set())[0]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the reading thread
            self._error = exc
            self._streamer.end()

    def __iter__(self) -> Iterator[str]:
        cutter = StopStreamer(self._params.stop)  # never shows a stop string, nor a tail that may start one
        for chunk in self._streamer:
            if shown := cutter.push(chunk):
                yield shown
        if rest := cutter.flush():
            yield rest
        self._thread.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._cancel.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the generation thread; True when it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()



#: The message of the deprecated name, so that callers and tests read the same words.
GENERATE_BATCH_DEPRECATION = ("smol_inference.generate_batch is deprecated: it is static batching, while "
                              "transformers' own `generate_batch` is continuous batching; call "
                              "generate_static_batch instead")


def generate_batch(generator: TextGenerator, prompts: Sequence[Messages], **kwargs: Any) -> BatchResult:
    """Deprecated alias of `generate_static_batch`, kept so older notebooks run; it warns and says so."""
    warnings.warn(GENERATE_BATCH_DEPRECATION, DeprecationWarning, stacklevel=2)
    return generate_static_batch(generator, prompts, **kwargs)


def stream_chat(generator: TextGenerator, messages: Messages, *, preset: str | Preset | GenerationParams | None = None,
                timeout_s: float | None = None, **params: Any) -> ChatStream:
    """Like `chat`, but yields text chunks as they are generated (section "Streaming").

    `for chunk in (s := stream_chat(g, "Hi")): print(chunk, end="")`, then `s.result`.
    """
    from . import settings

    chosen = make_params(preset, **params)
    return ChatStream(generator, messages, chosen, timeout_s or settings.STREAM_TOKEN_TIMEOUT_S)

"""The three stages of a text-generation pipeline, and what they measure.

Pre-process (chat template, tokenizer with left padding), forward (`model.generate` with per-row
seeded sampling, OpenAI's stop rule and a cancel flag: controls.py), post-process (cut the prompt off,
count tokens up to EOS, decode), as in the transformers "Pipelines" and "Text generation strategies"
guides. The helpers in pipeline.py are built from these. Taught in inference_pipeline.md, "How a pipeline works" and
"Measuring a generation".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .presets import GenerationParams
from .stopping import first_stop

Messages = str | Sequence[dict]
#: A transformers text-generation pipeline (pipeline.load_generator); Any, since transformers types its
#: tokenizer as Optional and load_generator has checked it is there.
TextGenerator = Any


@dataclass
class GenerationResult:
    """One reply and its measurements (section "Measuring a generation")."""

    text: str
    generated_tokens: int
    finish_reason: str  # "eos_token", "stop_sequence", "length" or "cancelled"
    time_to_first_token_s: float
    total_s: float
    prompt_tokens: int = 0
    seed: int | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.total_s if self.total_s > 0 else 0.0


@dataclass
class BatchResult:
    """Replies to many prompts, in prompt order, and the totals (section "Batching")."""

    results: list[GenerationResult]
    total_s: float
    time_to_first_token_s: float

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.results]

    @property
    def generated_tokens(self) -> int:
        return sum(r.generated_tokens for r in self.results)

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.total_s if self.total_s > 0 else 0.0


#: The roles a lesson-1 conversation may use (OpenAI's, without tools).
ROLES = ("system", "user", "assistant")


def as_messages(prompt: Messages) -> list[dict]:
    """A prompt string as one user message, or a conversation checked as OpenAI checks one
    (known role, text content); ValueError names the first bad message."""
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ValueError("the prompt must not be empty")
        return [{"role": "user", "content": prompt}]
    messages = list(prompt)
    if not messages:
        raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or set(m) != {"role", "content"}:
            raise ValueError(f"messages[{i}] must be a dict with exactly the keys 'role' and 'content'")
        if m["role"] not in ROLES:
            raise ValueError(f"messages[{i}]: role must be one of {', '.join(ROLES)}, got {m['role']!r}")
        if not isinstance(m["content"], str):
            raise ValueError(f"messages[{i}]: content must be a string, got {type(m['content']).__name__}")
    return messages


def render_chat(tokenizer: Any, messages: list[dict]) -> str:
    """The chat template applied to `messages` (section "Chat templates").

    A conversation that ends with an assistant message is CONTINUED: its turn stays open and the
    model writes on from its last word (transformers `continue_final_message`, TGI PR #2733: a
    prefill). Otherwise the assistant's turn is opened (`add_generation_prompt`). An empty final
    assistant message is the same as none. The course server's chat routes use this too.
    """
    last = messages[-1] if messages else {}
    if last.get("role") == "assistant" and not last.get("content"):
        messages = messages[:-1]
        last = {}
    if last.get("role") == "assistant":
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False,
                                             continue_final_message=True)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode(generator: TextGenerator, prompts: Sequence[Messages], params: GenerationParams) -> dict:
    """Pre-process: chat template (when the tokenizer has one), then tokenize with left padding."""
    tokenizer = generator.tokenizer
    if tokenizer.chat_template is not None:
        texts = [render_chat(tokenizer, as_messages(p)) for p in prompts]
        inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    else:
        texts = ["\n".join(m["content"] for m in as_messages(p)) for p in prompts]
        inputs = tokenizer(texts, return_tensors="pt", padding=True)
    limit = getattr(generator.model.config, "max_position_embeddings", None)
    prompt_len = inputs["input_ids"].shape[1]
    if limit and prompt_len + params.max_new_tokens > limit:
        raise ValueError(f"prompt ({prompt_len} tokens) + max_new_tokens ({params.max_new_tokens}) "
                         f"must be <= {limit}, the model's context length")
    return inputs.to(generator.model.device)


def check_prompt(generator: TextGenerator, messages: Messages, params: GenerationParams) -> int:
    """Raise ValueError for a prompt the model cannot take; return its length in tokens."""
    return int(encode(generator, [messages], params)["input_ids"].shape[1])


class Clock:
    """A streamer that only notes when the first new token arrives (generate calls put() per step)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first_token_at: float | None = None
        self._calls = 0

    def put(self, value: Any) -> None:
        self._calls += 1
        if self._calls == 2 and self.first_token_at is None:  # call 1 is the prompt itself
            self.first_token_at = time.perf_counter()

    def end(self) -> None:
        pass

    def ttft(self) -> float:
        return (self.first_token_at or time.perf_counter()) - self.start


def forward(generator: TextGenerator, inputs: dict, params: GenerationParams, streamer: Any,
            cancel: threading.Event | None = None) -> Any:
    """Forward: `model.generate` with the parameters, per-row seeded sampling, stop strings and a cancel flag.

    Sampling is done by `controls.RowSampler` (one generator per row, so a seeded row never depends on
    its batch); `generate` itself runs greedy over the one-hot scores it returns."""
    import torch
    from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

    from .controls import Cancel, RowSampler, StopStrings

    kwargs = params.generate_kwargs()
    rows, prompt_len = inputs["input_ids"].shape                # [batch, prompt_len]
    if params.sampling:
        sampler = RowSampler(rows, params.seed, params.temperature, params.top_k, params.top_p,
                             inputs["input_ids"].device)
        kwargs.update(do_sample=False, temperature=None, top_k=None, top_p=None,
                      logits_processor=LogitsProcessorList([sampler]))
    criteria: list[StoppingCriteria] = []
    if params.stop:
        criteria.append(StopStrings(generator.tokenizer, prompt_len, params.stop))
    if cancel is not None:
        criteria.append(Cancel(cancel))
    if criteria:
        kwargs["stopping_criteria"] = StoppingCriteriaList(criteria)
    with torch.inference_mode():
        return generator.model.generate(**inputs, streamer=streamer,
                                        pad_token_id=generator.tokenizer.pad_token_id, **kwargs)


def decode(generator: TextGenerator, inputs: dict, output: Any, params: GenerationParams, ttft: float, total: float,
           cancelled: bool = False) -> list[GenerationResult]:
    """Post-process: cut the prompt off, count real tokens (up to EOS, without padding), decode.

    The text is cut before the first stop string (OpenAI's rule). Finish reason, in the order of
    stopping.py: a stop string ("stop_sequence"), then `max_new_tokens` reached
    ("length", even when the last token is eos, as TGI checks length first), then "eos_token"."""
    tokenizer = generator.tokenizer
    eos = generator.model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
    prompt_len = inputs["input_ids"].shape[1]  # [batch, prompt_len] -> new tokens start here
    results = []
    for row, mask in zip(output[:, prompt_len:].tolist(), inputs["attention_mask"].tolist()):
        end = next((i + 1 for i, t in enumerate(row) if t in eos_ids), None)
        while end is None and row and row[-1] == tokenizer.pad_token_id:
            row = row[:-1]  # finished early by a stop string: the rest is padding
        tokens = row[:end] if end is not None else row
        text = tokenizer.decode(tokens, skip_special_tokens=True)
        cut = first_stop(text, params.stop)
        if cut is not None:
            text, reason = text[:cut], "stop_sequence"
        elif len(tokens) >= params.max_new_tokens:
            reason = "length"
        elif end is not None:
            reason = "eos_token"
        else:
            reason = "cancelled" if cancelled else "length"
        results.append(GenerationResult(text.strip(), len(tokens), reason, ttft, total, int(sum(mask)),
                                        params.seed))
    return results

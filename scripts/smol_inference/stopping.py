"""When generation stops, under the two rules the course serves: TGI's and OpenAI's.

TGI (`/generate`, `/generate_stream`, `POST /`; server/text_generation_server/utils/tokens.py,
`StoppingCriteria`): after each token, length first ("length"), then the eos token ("eos_token"),
then a stop sequence that ENDS the output text (TGI matches the regex `stop$` over the last few
hundred characters), so a stop string that ends inside a token never fires and the stop text stays
in `generated_text`.

OpenAI (`/v1/chat/completions`, `/v1/completions`, the lesson-1 helpers; OpenAI's API reference,
`stop`, and vLLM's `StopChecker`): a stop string ANYWHERE in the new text ends generation, even in
the middle of a token, and the text is cut before it. The stop is looked for first, so a stop that
arrives with the last allowed token still reads "stop"; then length, then eos, as TGI.
A stream must not show text that may turn out to be the start of a stop string: `StopStreamer` holds
such a tail back until it is known.

vLLM's and SGLang's extensions of OpenAI's rule (vLLM `SamplingParams`, `StopChecker`): with
`min_tokens`, no stop string, eos or stop token ends the output before that many tokens, and a stop
string then counts only if it ends in the text of a later token; with `keep_stop`
(`include_stop_str_in_output`, SGLang's `no_stop_trim`) the text runs to the end of the stop string.
text_generation_inference/differences_from_tgi.md, "Sampling".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

FINISH_LENGTH = "length"
FINISH_EOS = "eos_token"
FINISH_STOP = "stop_sequence"

#: TGI's rule, used by TGI's own routes.
RULE_TGI = "tgi"
#: OpenAI's rule, used by the OpenAI-compatible routes and the lesson-1 helpers.
RULE_OPENAI = "openai"
RULES = (RULE_TGI, RULE_OPENAI)


def first_stop(text: str, stops: Iterable[str]) -> int | None:
    """Index in `text` where the earliest stop string starts (OpenAI's rule), or None."""
    found = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(found) if found else None


def stop_span(text: str, stops: Iterable[str], floor: int = 0) -> tuple[int, int] | None:
    """(start, end) of the earliest stop string in `text` that ends after character `floor`, or None."""
    found = []
    for stop in stops:
        start = text.find(stop, max(0, floor - len(stop) + 1)) if stop else -1
        if start >= 0:
            found.append((start, start + len(stop)))
    return min(found) if found else None


def ends_with_stop(text: str, stops: Iterable[str]) -> bool:
    """True when `text` ends with one of `stops` (TGI's `stop$`)."""
    return any(s and text.endswith(s) for s in stops)


def decide(rule: str, text: str, stops: tuple[str, ...], generated: int, max_new_tokens: int,
           token_id: int, eos_ids: set[int], *, min_tokens: int = 0, floor: int = 0,
           keep_stop: bool = False) -> tuple[str | None, str]:
    """(finish reason or None, text to keep) after one more token; `generated` counts that token.

    `eos_ids` is every id that ends the output (eos and stop tokens); before `min_tokens` only the length
    can; `floor` is the length of the text before the token that reached `min_tokens`."""
    if rule not in RULES:
        raise ValueError(f"unknown stop rule {rule!r}; known: {', '.join(RULES)}")
    early = generated < min_tokens
    if rule == RULE_OPENAI and not early:
        span = stop_span(text, stops, floor)
        if span is not None:
            return FINISH_STOP, text[:span[1] if keep_stop else span[0]]
    if generated >= max_new_tokens:
        return FINISH_LENGTH, text
    if early:
        return None, text
    if token_id in eos_ids:
        return FINISH_EOS, text
    if rule == RULE_TGI and ends_with_stop(text, stops):
        return FINISH_STOP, text
    return None, text


def held_back(text: str, stops: Iterable[str]) -> int:
    """How many characters at the end of `text` could still begin a stop string (to hold back)."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if stop.startswith(text[len(text) - size:]):
                longest = size
                break
    return longest


@dataclass
class StopStreamer:
    """Streams text pieces under OpenAI's rule: never shows a stop string nor a tail that may begin one.

    `push(piece)` returns what can be shown now; `flush()` what is left to show once the sequence
    ended. Everything shown adds up to the answer cut before its first stop string.
    """

    stops: tuple[str, ...]
    text: str = ""
    shown: int = 0
    stopped: bool = field(default=False)
    keep_stop: bool = False                     # show the stop string itself (include_stop_str_in_output)
    min_pieces: int = 0                         # pieces (one per token) before a stop may count (min_tokens)
    pieces: int = 0
    floor: int = 0

    def push(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.text += piece
        self.pieces += 1
        if self.pieces < self.min_pieces:
            self.floor = len(self.text)
        span = stop_span(self.text, self.stops, self.floor) if self.pieces >= self.min_pieces else None
        if span is not None:
            self.stopped, end = True, span[1] if self.keep_stop else span[0]
        else:
            end = len(self.text) - held_back(self.text, self.stops)
        out = self.text[self.shown:end] if end > self.shown else ""
        self.shown = max(self.shown, end)
        return out

    def flush(self) -> str:
        """The text held back, once the sequence ended without reaching a stop string ("" if it did)."""
        if self.stopped:
            return ""
        out, self.shown = self.text[self.shown:], len(self.text)
        return out

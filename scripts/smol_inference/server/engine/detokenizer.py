"""Incremental detokenisation: the text each new token adds, O(1) per token, leading spaces kept.

Follows TGI's `decode_token` (server/text_generation_server/models/model.py): keep two offsets into
the ids, `prefix_offset` (where the last emitted piece began) and `read_offset` (where the unemitted
tokens begin); decode ids[prefix_offset:read_offset] and ids[prefix_offset:], and the new text is the
part of the second beyond the first. Both decodes cover a few tokens, so a step costs the same at
token 10 and token 10,000 (decoding everything again costs O(n) per token). Because the window starts
on an earlier token, a SentencePiece tokenizer's leading space (Llama 2, Mistral, TinyLlama: "▁Paris")
is kept: decoding "▁Paris" alone gives "Paris", but "is▁Paris" minus "is" gives " Paris". A piece that
ends in U+FFFD is an incomplete UTF-8 character: the token waits for the next one. Special tokens add
no text (`skip_special_tokens=True`). text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

from typing import Any

from .config import DETOKENIZE_CONTEXT_TOKENS

REPLACEMENT_CHAR = "\ufffd"


class IncrementalDetokenizer:
    """One per request. `add(id)` returns the text that token completes; `text` is all of it so far.

    tokenizer: a transformers tokenizer (`decode`, `all_special_ids`); prompt_ids: the request's prompt,
    whose last few non-special tokens seed the window so that the first new token keeps its space.
    """

    def __init__(self, tokenizer: Any, prompt_ids: list[int]) -> None:
        self.tokenizer = tokenizer
        # tokenizer.decode = the Rust backend's decode (+ an optional clean-up); call the backend directly
        # when there is no clean-up: the same text without transformers' per-call Python overhead.
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self._backend = backend if backend is not None and not getattr(tokenizer, "clean_up_tokenization_spaces",
                                                                       True) else None
        self.special_ids = frozenset(tokenizer.all_special_ids)
        context: list[int] = []
        for token_id in reversed(prompt_ids):
            if len(context) == DETOKENIZE_CONTEXT_TOKENS:
                break
            if token_id not in self.special_ids:
                context.append(token_id)
        self._window = context[::-1]            # ids[prefix_offset:], never more than a few tokens
        self._read = len(self._window)          # read_offset - prefix_offset
        self.text = ""

    def add(self, token_id: int) -> str:
        """The new text `token_id` completes: "" for a special token or an incomplete character."""
        if token_id in self.special_ids:
            return ""
        self._window.append(token_id)
        before = self._decode(self._window[:self._read])
        after = self._decode(self._window)
        if len(after) <= len(before) or after.endswith(REPLACEMENT_CHAR):
            return ""
        piece = after[len(before):]
        self._window = self._window[self._read:]   # the next prefix is what was just emitted
        self._read = len(self._window)
        self.text += piece
        return piece

    def _decode(self, ids: list[int]) -> str:
        if not ids:
            return ""
        if self._backend is not None:
            return self._backend.decode(ids, skip_special_tokens=True)
        return self.tokenizer.decode(ids, skip_special_tokens=True)

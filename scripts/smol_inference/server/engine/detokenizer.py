"""STAND-IN for the sampler stream's IncrementalDetokenizer (replaced at merge; same signature).

Decodes the whole generated list on every token (O(n)); the real one uses TGI's prefix/read offsets.
text_generation_inference.md, "Inside the server".
"""

from __future__ import annotations

from typing import Any


class IncrementalDetokenizer:
    """add(token_id) -> the new text this token completes ("" while a multi-byte char is incomplete)."""

    def __init__(self, tokenizer: Any, prompt_ids: list[int]) -> None:
        self.tokenizer, self.ids, self.text = tokenizer, [], ""

    def add(self, token_id: int) -> str:
        self.ids.append(token_id)
        full = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if full.endswith("\ufffd") or not full.startswith(self.text):
            return ""
        piece, self.text = full[len(self.text):], full
        return piece

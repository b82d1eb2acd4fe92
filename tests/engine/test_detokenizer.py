"""Incremental detokenisation (engine/detokenizer.py, TGI's prefix/read offsets): streamed pieces add up
to the full decode, multi-byte characters wait until complete, SentencePiece leading spaces survive,
and each token costs a decode of a few tokens however long the text is."""

from __future__ import annotations

from typing import Any

import pytest

from smol_inference.server.engine.detokenizer import IncrementalDetokenizer

TEXT = "The capital of France is Paris. héllo wörld 😀, 7 plus 5 is 12. 日本語"


@pytest.fixture(scope="module")
def byte_level() -> Any:
    """The bundled model's byte-level BPE tokenizer (SmolLM2 style)."""
    from transformers import AutoTokenizer

    from smol_inference import settings

    return AutoTokenizer.from_pretrained(settings.TINY_MODEL)


@pytest.fixture(scope="module")
def sentencepiece() -> Any:
    """A SentencePiece-style BPE (Metaspace "▁", space prepended, as Llama 2 / Mistral / TinyLlama) trained here."""
    from tokenizers import SentencePieceBPETokenizer
    from transformers import PreTrainedTokenizerFast

    trained = SentencePieceBPETokenizer()
    corpus = [TEXT, "Paris is a city in France.", "What is the capital of Italy? Rome is."] * 10
    trained.train_from_iterator(corpus, vocab_size=150, min_frequency=1, special_tokens=["<unk>", "<s>", "</s>"])
    return PreTrainedTokenizerFast(tokenizer_object=trained._tokenizer, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>")


def stream(tokenizer: Any, prompt_ids: list[int], ids: list[int]) -> list[str]:
    detokenizer = IncrementalDetokenizer(tokenizer, prompt_ids)
    pieces = [detokenizer.add(i) for i in ids]
    assert "".join(pieces) == detokenizer.text
    return pieces


def encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_byte_level_pieces_add_up_and_wait_for_whole_characters(byte_level):
    prompt = encode(byte_level, "Say something:")
    ids = encode(byte_level, TEXT)
    ids = ids[:8] + [byte_level.eos_token_id] + ids[8:]              # a special token adds no text
    pieces = stream(byte_level, prompt, ids)
    assert "".join(pieces) == byte_level.decode(ids, skip_special_tokens=True)
    assert "\ufffd" not in "".join(pieces)
    emoji = encode(byte_level, "😀")
    assert len(emoji) > 1                                             # the emoji spans several byte tokens
    assert stream(byte_level, prompt, emoji) == [""] * (len(emoji) - 1) + ["😀"]


def test_sentencepiece_keeps_the_leading_space(sentencepiece):
    prompt = encode(sentencepiece, "The capital of France is")
    full = encode(sentencepiece, "The capital of France is Paris. héllo wörld")
    assert full[:len(prompt)] == prompt
    generated = full[len(prompt):]
    assert sentencepiece.decode(generated).startswith("Paris")       # decoding alone loses the space
    pieces = stream(sentencepiece, prompt, generated)
    assert "".join(pieces) == " Paris. héllo wörld"
    assert pieces[0].startswith(" Paris")


def test_sentencepiece_specials_in_the_prompt_tail_and_the_output(sentencepiece):
    bos, eos = sentencepiece.bos_token_id, sentencepiece.eos_token_id
    prompt = encode(sentencepiece, "The capital of France is") + [eos, bos]       # e.g. a chat template's tail
    generated = encode(sentencepiece, "Paris is a city")
    pieces = stream(sentencepiece, prompt, generated[:2] + [eos] + generated[2:])
    assert "".join(pieces) == " " + sentencepiece.decode(generated)


class CountingTokenizer:
    """The real tokenizer, recording how many ids each decode call was given."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer, self.lengths = tokenizer, []
        self.all_special_ids = tokenizer.all_special_ids

    def decode(self, ids: list[int], **kwargs: Any) -> str:
        self.lengths.append(len(ids))
        return self.tokenizer.decode(ids, **kwargs)


def test_cost_per_token_does_not_grow_with_the_text(byte_level):
    counting = CountingTokenizer(byte_level)
    ids = encode(byte_level, TEXT * 20)
    assert len(ids) > 500
    pieces = stream(counting, encode(byte_level, "Go:"), ids)
    assert "".join(pieces) == byte_level.decode(ids, skip_special_tokens=True)
    assert len(counting.lengths) <= 2 * len(ids)
    assert max(counting.lengths) <= 12                              # a few tokens, never the whole text

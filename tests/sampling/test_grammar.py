"""grammar.py against llguidance's own answers: masks, termination, padded vocabularies, the cache."""

from __future__ import annotations

import re

import pytest
import torch


@pytest.fixture(scope="module")
def compiler():
    from transformers import AutoTokenizer

    from smol_inference import settings
    from smol_inference.grammar import GrammarCompiler

    return GrammarCompiler(AutoTokenizer.from_pretrained(settings.TINY_MODEL), cache_size=2)


def spec(kind: str, value: str):
    from smol_inference.grammar import GrammarSpec

    return GrammarSpec(kind, value)


def allowed_ids(scores: torch.Tensor) -> set[int]:
    return set(torch.nonzero(torch.isfinite(scores)).flatten().tolist())


def test_mask_matches_what_the_matcher_accepts(compiler):
    """Each row's finite logits are exactly the tokens the matcher would accept (checked one by one)."""
    from smol_inference.grammar import apply_grammar

    states = [compiler.new_state(spec("regex", r"(yes|no|maybe) [0-9]{2}")), None,
              compiler.new_state(spec("json_schema", '{"type": "object", "properties": {"a": {"type": "boolean"}}}'))]
    states[2].accept(compiler.ll_tokenizer.tokenize_str('{"')[0])
    scores = torch.randn(3, compiler.vocab_size)
    apply_grammar(scores, states)
    for row, state in enumerate(states):
        if state is None:
            assert allowed_ids(scores[row]) == set(range(compiler.vocab_size))
            continue
        expected = {t for t in range(compiler.vocab_size) if state.matcher.validate_tokens([t]) == 1}
        assert allowed_ids(scores[row]) == expected and expected


def test_sampling_under_a_regex_always_matches(compiler):
    from smol_inference.grammar import apply_grammar

    pattern = r"[a-c]{2,4}-(x|yz)"
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        state, ids = compiler.new_state(spec("regex", pattern)), []
        for _step in range(20):
            scores = torch.randn(1, compiler.vocab_size, generator=generator)
            apply_grammar(scores, [state])
            token = int(torch.multinomial(scores.softmax(-1), 1, generator=generator))
            if token == compiler.eos_id:
                break
            ids.append(token)
            state.accept(token)
        assert re.fullmatch(pattern, compiler.ll_tokenizer.decode_str(ids)), ids


def test_terminated_grammar_allows_only_eos_and_padding_is_forbidden(compiler):
    from smol_inference.grammar import apply_grammar

    state = compiler.new_state(spec("regex", "ok"))
    for token in compiler.ll_tokenizer.tokenize_str("ok"):
        state.accept(token)
    padded = torch.zeros(2, compiler.vocab_size + 7)          # a model whose logits are wider than the vocab
    apply_grammar(padded, [state, None])
    assert allowed_ids(padded[0]) == {compiler.eos_id}
    assert allowed_ids(padded[1]) == set(range(compiler.vocab_size + 7))
    state.accept(compiler.eos_id)
    assert state.is_terminated()


def test_compiled_grammars_are_cached_in_a_bounded_lru(compiler):
    from smol_inference.grammar import GrammarError

    a, b, c = spec("regex", "a+"), spec("regex", "b+"), spec("regex", "c+")
    compiler.compile(a), compiler.compile(b)
    hits = compiler.hits
    compiler.compile(a)                                       # a is now the most recent
    assert compiler.hits == hits + 1
    compiler.compile(c)                                       # evicts b, the least recent
    assert set(compiler._cache) == {a, c}
    with pytest.raises(GrammarError, match="unclosed"):
        compiler.compile(spec("regex", "[a-"))
    with pytest.raises(ValueError):
        spec("xml", "<a/>")


def test_apply_grammar_checks_shapes(compiler):
    from smol_inference.grammar import apply_grammar

    with pytest.raises(ValueError, match="B == len"):
        apply_grammar(torch.zeros(2, compiler.vocab_size), [None])
    untouched = torch.zeros(1, 4)
    apply_grammar(untouched, [None])
    assert torch.equal(untouched, torch.zeros(1, 4))


def test_lesson_one_logits_processor_constrains_a_plain_pipeline():
    """constrained.py: the same grammar states inside transformers' generate(), greedy and sampled."""
    from pydantic import BaseModel, Field

    from smol_inference import load_generator
    from smol_inference.constrained import constrained_chat

    class Pet(BaseModel):
        kind: str = Field(pattern=r"^(cat|dog)$")
        age: int = Field(ge=0, le=20)

    generator = load_generator(quiet=True)
    texts = [constrained_chat(generator, "A pet as JSON?", Pet, max_new_tokens=40, do_sample=True, temperature=1.5)
             for _ in range(2)] + [constrained_chat(generator, "A pet as JSON?", Pet, max_new_tokens=40)]
    for text in texts:
        Pet.model_validate_json(text)
    assert constrained_chat(generator, "7 plus 5?", regex="[0-9]{1,2}", max_new_tokens=4).isdigit()
    with pytest.raises(ValueError):
        constrained_chat(generator, "hi")


def test_a_broken_state_allows_only_eos(compiler):
    from smol_inference.grammar import apply_grammar

    state = compiler.new_state(spec("regex", "ab"))
    state.matcher.consume_token(compiler.ll_tokenizer.tokenize_str("z")[0])   # not allowed: error state
    assert state.matcher.is_error() and state.is_terminated()
    scores = torch.zeros(1, compiler.vocab_size)
    apply_grammar(scores, [state])
    assert allowed_ids(scores[0]) == {compiler.eos_id}

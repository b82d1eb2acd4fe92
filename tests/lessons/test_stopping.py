"""smol_inference/stopping.py: TGI's rule (length, eos, `stop$`, text kept) and OpenAI's (stop anywhere, cut before
it, streams hold back a possible start of a stop string). No model: pure functions and a dataclass."""

from __future__ import annotations

import pytest

from smol_inference.server.engine import StoppingParams
from smol_inference.stopping import (FINISH_EOS, FINISH_LENGTH, FINISH_STOP, RULE_OPENAI, RULE_TGI,
                                                   StopStreamer, decide, held_back)

EOS = {0}


def test_tgi_rule_matches_only_at_the_end_and_keeps_the_stop_text():
    assert decide(RULE_TGI, "7 plus", ("plu",), 2, 10, 5, EOS) == (None, "7 plus")       # inside a token
    assert decide(RULE_TGI, "7 plus 5 is", ("is",), 4, 10, 5, EOS) == (FINISH_STOP, "7 plus 5 is")


def test_openai_rule_matches_anywhere_and_cuts_before_the_stop():
    assert decide(RULE_OPENAI, "7 plus", ("plu",), 2, 10, 5, EOS) == (FINISH_STOP, "7 ")
    assert decide(RULE_OPENAI, "7 plus 5 is", ("5", "plus"), 4, 10, 5, EOS) == (FINISH_STOP, "7 ")  # earliest wins
    assert decide(RULE_OPENAI, "7 plus", ("plu",), 10, 10, 0, EOS) == (FINISH_STOP, "7 ")        # before length


@pytest.mark.parametrize("rule", [RULE_TGI, RULE_OPENAI])
def test_length_is_checked_before_eos(rule):
    assert decide(rule, "12.", (), 7, 7, 0, EOS) == (FINISH_LENGTH, "12.")
    assert decide(rule, "12.", (), 7, 8, 0, EOS) == (FINISH_EOS, "12.")
    assert decide(rule, "12", (), 6, 8, 3, EOS) == (None, "12")


def test_a_sequence_cuts_its_text_under_openais_rule():
    from smol_inference.server.engine import SamplingParams, Sequence, TokenInfo

    seq = Sequence([1, 2], SamplingParams(), StoppingParams(10, ("is",), RULE_OPENAI), lambda *_: None)
    seq.generated.append(TokenInfo(5, " is", -0.1))
    seq.text = "7 plus 5 is"
    assert seq.check_stop(seq.generated[-1], EOS) == FINISH_STOP and seq.text == "7 plus 5 "
    with pytest.raises(ValueError, match="rule"):
        StoppingParams(10, (), "anthropic")


def test_held_back_is_the_longest_possible_start_of_a_stop():
    assert held_back("7 pl", ("plus",)) == 2
    assert held_back("7 plus 5 i", ("is", "5 is ")) == 3          # "5 i" may start "5 is "
    assert held_back("abc", ("xyz",)) == 0


@pytest.mark.parametrize("pieces, stops, shown", [
    (["7", " plus", " 5", " is", " 12."], ("plu",), "7 "),
    (["7", " plus", " 5", " is", " 12."], ("is",), "7 plus 5 "),
    (["7", " plus", " 5", " is", " 12."], ("5 is 13",), "7 plus 5 is 12."),   # a false start is released
    (["a", "b"], (), "ab"),
])
def test_a_stream_never_shows_a_stop_string(pieces, stops, shown):
    streamer = StopStreamer(stops)
    out = [streamer.push(piece) for piece in pieces]
    total = "".join(out) + streamer.flush()
    assert total == shown
    for i in range(len(out)):                       # at no point did the stream show a stop string
        assert not any(s in "".join(out[:i + 1]) for s in stops)

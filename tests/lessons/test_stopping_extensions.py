"""vLLM's extensions of OpenAI's stop rule (smol_inference/stopping.py): `min_tokens` holds every stop back
and a stop string then counts only if it ends in a later token's text; `keep_stop`
(include_stop_str_in_output, SGLang's no_stop_trim) keeps the stop string. The streamed pieces add up
to the blocking answer under the same settings.
"""

from __future__ import annotations

from smol_inference.stopping import (FINISH_EOS, FINISH_LENGTH, FINISH_STOP, RULE_OPENAI, StopStreamer, decide,
                                     stop_span)

EOS = {0}


def test_stop_span_finds_the_earliest_stop_that_ends_after_the_floor():
    assert stop_span("7 plus 5 is 12", ("is", "plus")) == (2, 6)
    assert stop_span("7 plus 5 is 12", ("is", "plus"), floor=6) == (9, 11)      # "plus" ends at the floor
    assert stop_span("7 plus 5 is 12", ("plus",), floor=5) == (2, 6)            # ends one character after
    assert stop_span("7 plus", ("x", "")) is None


def test_keep_stop_keeps_the_stop_string():
    assert decide(RULE_OPENAI, "7 plus 5 is", (" is",), 4, 10, 5, EOS) == (FINISH_STOP, "7 plus 5")
    assert decide(RULE_OPENAI, "7 plus 5 is", (" is",), 4, 10, 5, EOS, keep_stop=True) == (FINISH_STOP, "7 plus 5 is")


def test_min_tokens_holds_back_eos_and_stop_strings_but_not_the_length():
    assert decide(RULE_OPENAI, "7 plus", ("plus",), 2, 10, 0, EOS, min_tokens=3) == (None, "7 plus")
    assert decide(RULE_OPENAI, "7 plus", (), 2, 10, 0, EOS, min_tokens=3) == (None, "7 plus")
    assert decide(RULE_OPENAI, "7 plus", (), 2, 2, 0, EOS, min_tokens=3) == (FINISH_LENGTH, "7 plus")
    assert decide(RULE_OPENAI, "7 plus 5", (), 3, 10, 0, EOS, min_tokens=3) == (FINISH_EOS, "7 plus 5")
    # the early "plus" ended before the floor (len("7 plus")): it no longer counts, a later one does
    assert decide(RULE_OPENAI, "7 plus 5", ("plus",), 3, 10, 5, EOS, min_tokens=3, floor=6) == (None, "7 plus 5")
    assert decide(RULE_OPENAI, "7 plus 5 plus", ("plus",), 4, 10, 5, EOS, min_tokens=3, floor=6) == \
        (FINISH_STOP, "7 plus 5 ")


def test_the_streamer_shows_what_the_blocking_rule_keeps():
    pieces = ["7", " plus", " 5", " plus", " 6"]
    for keep, min_pieces, expected in ((False, 0, "7 "), (True, 0, "7 plus"), (False, 3, "7 plus 5 "),
                                       (True, 3, "7 plus 5 plus")):
        streamer = StopStreamer(("plus",), keep_stop=keep, min_pieces=min_pieces)
        shown = "".join(streamer.push(p) for p in pieces) + streamer.flush()
        assert shown == expected, (keep, min_pieces)

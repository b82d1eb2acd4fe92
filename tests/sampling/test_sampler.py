"""The batched sampler (sampling/sampler.py) against the rules it follows: TGI's penalties and warpers,
OpenAI's generated-only frequency penalty, per-request seeds, and finite raw-distribution logprobs."""

from __future__ import annotations

import math
import sys
import types

import pytest
import torch

from smol_inference.server.engine import SamplingParams, Sequence, StoppingParams, TokenInfo
from smol_inference.server.sampling.sampler import prompt_logprobs, sample_batch

VOCAB = 64
DECREASING = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0])          # token 0 best, token 4 worst


def make(prompt: tuple[int, ...] = (1, 2, 3), generated: tuple[int, ...] = (), top_n: int = 0,
         **sampling: object) -> Sequence:
    seq = Sequence(list(prompt), SamplingParams(**sampling), StoppingParams(32), emit=lambda *_: None,
                   top_n_tokens=top_n)
    seq.generated = [TokenInfo(i, "", 0.0) for i in generated]
    seq.token_ids += generated                               # as the engine keeps them: prompt + generated
    return seq


def drawn_set(scores: torch.Tensor, draws: int = 300, **sampling: object) -> set[int]:
    """Tokens drawn from scores [V] by `draws` requests with different seeds, in one batch."""
    seqs = [make(do_sample=True, seed=seed, **sampling) for seed in range(draws)]
    return set(sample_batch(scores.expand(draws, -1), seqs).token_ids)


def test_greedy_batch_takes_argmax_and_reports_the_raw_distribution():
    logits = torch.randn(4, VOCAB, generator=torch.Generator().manual_seed(0))
    seqs = [make(top_n=n) for n in (0, 1, 3, 5)]
    result = sample_batch(logits, seqs)
    reference = torch.log_softmax(logits.double(), -1)
    assert result.token_ids == logits.argmax(-1).tolist()
    for row, seq in enumerate(seqs):
        assert result.logprobs[row] == pytest.approx(float(reference[row, result.token_ids[row]]), abs=1e-5)
        assert [i for i, _ in result.top[row]] == reference[row].topk(seq.top_n_tokens).indices.tolist()
        values = [v for _, v in result.top[row]]
        assert values == sorted(values, reverse=True)
        if values:                                   # greedy: the chosen token is the best one
            assert result.top[row][0] == (result.token_ids[row], result.logprobs[row])


def test_logprobs_do_not_depend_on_sampling_parameters():
    """top_p 0.3 used to report 0.0 for the chosen token and null (-inf) for the rest; now the raw distribution."""
    logits = torch.randn(1, VOCAB, generator=torch.Generator().manual_seed(1))
    plain = sample_batch(logits, [make(top_n=5)])
    truncated = sample_batch(logits, [make(top_n=5, do_sample=True, top_p=0.3, temperature=0.5, seed=1)])
    assert truncated.top == plain.top
    assert all(math.isfinite(v) and v < 0 for _, v in truncated.top[0])
    assert truncated.logprobs[0] == dict(truncated.top[0]).get(truncated.token_ids[0], truncated.logprobs[0])


def test_warpers_keep_the_tokens_tgi_keeps():
    assert drawn_set(DECREASING, top_k=2) == {0, 1}
    assert drawn_set(DECREASING, top_p=0.5) == {0}
    assert drawn_set(DECREASING, top_p=0.9) == {0, 1, 2}
    assert drawn_set(DECREASING, top_k=3, top_p=0.99) == {0, 1, 2}
    assert 0 in drawn_set(DECREASING, typical_p=0.5)
    assert drawn_set(DECREASING, temperature=1e-300) == {0}        # tiny temperature: greedy, no overflow
    assert len(drawn_set(DECREASING, temperature=100.0)) == 5       # huge temperature: close to uniform


def test_draws_follow_the_distribution():
    draws = 2000
    tokens = sample_batch(torch.tensor([math.log(0.7), math.log(0.2), math.log(0.1)]).expand(draws, -1),
                          [make(do_sample=True, seed=s) for s in range(draws)]).token_ids
    shares = [tokens.count(i) / draws for i in range(3)]
    assert shares == pytest.approx([0.7, 0.2, 0.1], abs=0.05)     # about 5 standard errors


def test_repetition_penalty_divides_positive_and_multiplies_negative_scores():
    positive = torch.tensor([[2.0, 1.5, -3.0]])
    assert sample_batch(positive, [make(prompt=(0,), repetition_penalty=2.0)]).token_ids == [1]   # 2 -> 1
    assert sample_batch(positive, [make(prompt=(0,), repetition_penalty=1.2)]).token_ids == [0]   # 2 -> 1.67
    negative = torch.tensor([[-1.0, -1.5, -3.0]])
    assert sample_batch(negative, [make(prompt=(2,), generated=(0,), repetition_penalty=2.0)]).token_ids == [1]


def test_frequency_penalty_counts_generated_tokens_only():
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    assert sample_batch(logits, [make(prompt=(0, 0, 0, 0), frequency_penalty=2.0)]).token_ids == [0]
    assert sample_batch(logits, [make(generated=(0,), frequency_penalty=0.6)]).token_ids == [0]      # 1.4
    assert sample_batch(logits, [make(generated=(0, 0), frequency_penalty=0.6)]).token_ids == [1]   # 0.8
    assert sample_batch(logits, [make(generated=(1, 1), frequency_penalty=-0.6)]).token_ids == [1]  # 2.2


def test_seeded_request_ignores_its_batch_companions():
    """Same seed alone or as row 3 of 8 mixed requests -> the same tokens, step after step."""
    steps = [torch.randn(8, VOCAB, generator=torch.Generator().manual_seed(s)) for s in range(12)]
    alone = make(do_sample=True, seed=42, temperature=0.9, top_p=0.95)
    together = make(do_sample=True, seed=42, temperature=0.9, top_p=0.95)
    companions = [make(), make(do_sample=True, seed=42, top_k=5), make(repetition_penalty=1.3, top_n=2),
                  make(do_sample=True, seed=7, typical_p=0.5, frequency_penalty=1.0),
                  make(do_sample=True, seed=8, temperature=1e-300), make(top_n=5, do_sample=True, seed=9),
                  make(frequency_penalty=-2.0, generated=(5, 5))]
    batch = companions[:3] + [together] + companions[3:]
    mine, theirs = [], []
    for logits in steps:
        solo = sample_batch(logits[3:4], [alone])
        mixed = sample_batch(logits, batch)
        for seq, token_id in zip([alone, *batch], solo.token_ids + mixed.token_ids, strict=True):
            seq.generated.append(TokenInfo(token_id, "", 0.0))
        mine.append(solo.token_ids[0])
        theirs.append(mixed.token_ids[3])
    assert mine == theirs
    assert len(set(mine)) > 1                        # it really sampled


def test_greedy_rows_in_a_mixed_batch_match_an_all_greedy_batch():
    logits = torch.randn(6, VOCAB, generator=torch.Generator().manual_seed(3))
    mixed = [make(), make(do_sample=True, seed=1), make(), make(do_sample=True, seed=2, top_k=3), make(), make()]
    result = sample_batch(logits, mixed)
    greedy = logits.argmax(-1).tolist()
    assert [result.token_ids[r] for r in (0, 2, 4, 5)] == [greedy[r] for r in (0, 2, 4, 5)]


@pytest.mark.parametrize("sampling", [{"do_sample": True, "temperature": 1e-300},
                                      {"do_sample": True, "temperature": 1e300},
                                      {"repetition_penalty": 1e-300}, {"repetition_penalty": 1e300},
                                      {"do_sample": True, "repetition_penalty": 1e-300, "top_p": 0.1},
                                      {"do_sample": True, "typical_p": 1e-9, "top_k": 1}])
def test_extreme_values_never_fail_a_step(sampling):
    logits = torch.randn(2, VOCAB, generator=torch.Generator().manual_seed(4))
    logits[1, :5] = torch.tensor([float("inf"), float("-inf"), float("nan"), 1e38, -1e38])
    result = sample_batch(logits, [make(top_n=5, **sampling), make(top_n=5, generated=(0, 1, 2), **sampling)])
    assert all(0 <= t < VOCAB for t in result.token_ids)
    assert all(math.isfinite(v) for v in result.logprobs)
    assert all(math.isfinite(v) for top in result.top for _, v in top)


def test_half_precision_logits_and_shape_errors():
    logits = torch.randn(3, VOCAB, generator=torch.Generator().manual_seed(5))
    result = sample_batch(logits.bfloat16(), [make(), make(do_sample=True, seed=1), make(top_n=2)])
    assert result.token_ids[0] == logits.bfloat16().argmax(-1)[0]
    with pytest.raises(ValueError, match="rows"):
        sample_batch(logits, [make()])


def test_grammar_hook_masks_and_advances_only_rows_with_a_state(monkeypatch):
    """grammar.py's contract (INTERFACES.md): apply_grammar masks rows in place, accept() follows."""
    masked_rows: list[int] = []

    class Only:                                       # allows one token, then records what was chosen
        def __init__(self, token_id: int) -> None:
            self.token_id, self.accepted = token_id, []

        def accept(self, token_id: int) -> None:
            self.accepted.append(token_id)

    def apply_grammar(scores: torch.Tensor, states: list) -> None:
        for row, state in enumerate(states):
            if state is not None:
                masked_rows.append(row)
                keep = scores[row, state.token_id].clone()
                scores[row] = float("-inf")
                scores[row, state.token_id] = keep

    monkeypatch.setitem(sys.modules, "smol_inference.grammar",
                        types.SimpleNamespace(apply_grammar=apply_grammar))
    logits = torch.randn(3, VOCAB, generator=torch.Generator().manual_seed(6))
    seqs = [make(), make(do_sample=True, seed=3), make()]
    seqs[1].grammar = Only(17)
    result = sample_batch(logits, seqs)
    assert result.token_ids[1] == 17 and seqs[1].grammar.accepted == [17]
    assert masked_rows == [0]                         # the hook saw only the row that needed processing
    assert [result.token_ids[r] for r in (0, 2)] == [int(logits[r].argmax()) for r in (0, 2)]
    assert math.isfinite(result.logprobs[1])


def test_prompt_logprobs_first_is_none_rest_finite():
    logits = torch.randn(6, VOCAB, generator=torch.Generator().manual_seed(7))   # 2 rows of left padding
    logits[4, 9] = float("-inf")                  # row 4 predicts the last prompt token
    ids = [5, 6, 7, 9]
    values = prompt_logprobs(logits, ids)
    reference = torch.log_softmax(logits[2:5].double(), -1)
    assert values[0] is None and len(values) == 4
    assert values[1:3] == pytest.approx([float(reference[0, 6]), float(reference[1, 7])], abs=1e-5)
    assert math.isfinite(values[3]) and values[3] < -1e30
    assert prompt_logprobs(logits, [5]) == [None]


def tgi_top_p(row: torch.Tensor, top_p: float) -> set[int]:
    """TGI's rule, written out: drop while the ascending cumulative probability is <= 1 - top_p."""
    ascending, order = row.double().sort()
    drop = ascending.softmax(-1).cumsum(-1) <= 1 - top_p
    drop[-1] = False
    return set(order[~drop].tolist())


def tgi_typical_p(row: torch.Tensor, mass: float) -> set[int]:
    """TGI's TypicalLogitsWarper, written out: most typical first, up to and including the token that
    brings the cumulative probability to `mass`."""
    logp = row.double().log_softmax(-1)
    entropy = -(logp * logp.exp()).nansum()
    distance, order = (-logp - entropy).abs().sort()
    last = int((logp.exp()[order].cumsum(-1) < mass).sum().clamp(max=len(row) - 1))
    return set(order[~(distance > distance[last])].tolist())


@pytest.mark.parametrize("spread", [4.0, 0.05])          # peaked: settled among the candidates; flat: full sort
@pytest.mark.parametrize("name, reference", [("top_p", tgi_top_p), ("typical_p", tgi_typical_p)])
def test_nucleus_warpers_keep_tgis_tokens_on_a_large_vocabulary(spread, name, reference):
    from smol_inference.server.sampling.config import NUCLEUS_CANDIDATES
    from smol_inference.server.sampling import warpers

    vocab = 4 * NUCLEUS_CANDIDATES
    scores = torch.randn(3, vocab, generator=torch.Generator().manual_seed(8)) * spread
    limits = (0.5, 0.9, 0.99)
    kept = scores.clone()
    getattr(warpers, name)(kept, [make(do_sample=True, **{name: limit}) for limit in limits], [0, 1, 2])
    for row, limit in enumerate(limits):
        assert set(torch.isfinite(kept[row]).nonzero().flatten().tolist()) == reference(scores[row], limit)
    assert bool((torch.isfinite(kept).sum(-1) > NUCLEUS_CANDIDATES).any()) == (spread < 1)


def test_bench_sampler_plumbing_runs(tmp_path):
    """benchmarks/bench_sampler.py end to end at toy size (its figures live in benchmarks/README.md)."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_sampler.py"
    spec = importlib.util.spec_from_file_location("bench_sampler", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]  # a .py path always has a loader
    out = tmp_path / "sampler.json"
    assert bench.main(["--batch-sizes", "2", "--steps", "1", "--vocab", "512", "--detokenize", "",
                       "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {row["workload"] for row in report["sampler"]} == set(bench.WORKLOADS)
    assert all(row["batched_ms"] > 0 and row["row_by_row_ms"] > 0 for row in report["sampler"])
    assert report["detokenizer"] == []

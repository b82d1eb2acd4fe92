"""Lab 5 (optional): the batched top-k / top-p filter a sampler applies before drawing a token.

The learner writes `my_top_k_top_p(logits, top_k, top_p)`: logits [batch, vocab], top_k [batch] (0: off),
top_p [batch] (1.0: off) -> a copy where every token outside a row's kept set is -inf, top-k first, then
top-p on what is left (the order of TGI's HeterogeneousNextTokenChooser). The check compares the kept
sets with the engine's own warpers (server/sampling/warpers.py `top_k`, `top_p`) on seeded logits.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Lab
from .guard import guarded

SOLUTION = '''
import torch


def my_top_k_top_p(logits, top_k, top_p):
    scores = logits.clone()
    vocab = scores.shape[-1]
    k = torch.where(top_k > 0, top_k, torch.full_like(top_k, vocab)).clamp(max=vocab)
    kth = scores.sort(-1, descending=True).values.gather(1, (k - 1).unsqueeze(1))     # each row's k-th best
    scores = scores.masked_fill(scores < kth, float("-inf"))
    probs = scores.softmax(-1)
    ordered, order = probs.sort(-1, descending=True)
    before = ordered.cumsum(-1) - ordered                    # probability of the tokens ahead of each one
    drop = (before >= top_p.unsqueeze(1)).scatter(1, order, before >= top_p.unsqueeze(1))
    return scores.masked_fill(drop, float("-inf"))
'''

#: Seeded cases: (rows of (top_k, top_p)), vocabulary size.
CASES = (((0, 1.0), (5, 1.0), (0, 0.5), (8, 0.9), (1, 0.3), (50, 0.95)), 64)


def reference(logits: Any, settings: list[tuple[int, float]]) -> Any:
    """The engine's warpers on the same rows: top_k then top_p, in place on a copy."""
    from ...server.engine.sequence import SamplingParams, Sequence, StoppingParams
    from ...server.sampling.params import SamplingRow
    from ...server.sampling.warpers import top_k, top_p

    seqs: list[SamplingRow] = [Sequence([0], SamplingParams(do_sample=True, top_k=k, top_p=p), StoppingParams(1),
                                        lambda *_: None) for k, p in settings]
    scores = logits.clone()
    rows = list(range(len(seqs)))
    top_k(scores, seqs, rows)
    top_p(scores, seqs, rows)
    return scores


class SamplerLab(Lab):
    """Compare the kept sets of `my_top_k_top_p` with the engine's warpers, row by row."""

    names: ClassVar[tuple[str, ...]] = ("my_top_k_top_p",)
    hints: ClassVar[dict[str, str]] = {
        "en": ("Work on whole tensors: one sort per batch, not a loop over rows. For top-k, what is the "
               "smallest score a row keeps? For top-p, sort the probabilities left after top-k: a token stays "
               "while the tokens *before* it hold less than top_p, so the best token always stays. How do you "
               "put a mask computed in sorted order back in vocabulary order?"),
        "zh": ("对整个张量操作：整批排序一次，而不是按行循环。top-k："
               "一行保留的最小分数是多少？top-p：对 top-k 之后剩下的"
               "概率排序；只要排在它**前面**的词元概率之和小于 top_p，这个词元就保留，因此最好的词元总会保留。"
               "按排序顺序算出的掩码，怎样放回词表顺序？"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _lab(self) -> None:
        import torch

        (fn,) = self.learner()
        settings, vocab = CASES
        generator = torch.Generator().manual_seed(0)
        logits = torch.randn(len(settings), vocab, generator=generator) * 3
        top_k = torch.tensor([k for k, _ in settings])
        top_p = torch.tensor([p for _, p in settings])
        got = guarded("my_top_k_top_p", fn, logits.clone(), top_k, top_p)
        self.expect(isinstance(got, torch.Tensor) and got.shape == logits.shape,
                    f"my_top_k_top_p should return a tensor shaped like logits {tuple(logits.shape)}",
                    f"my_top_k_top_p 应返回与 logits 形状相同 {tuple(logits.shape)} 的张量")
        want = reference(logits, list(settings))
        for row, (k, p) in enumerate(settings):
            mine, ours = torch.isfinite(got[row]), torch.isfinite(want[row])
            self.expect(torch.equal(mine, ours),
                        f"row {row} (top_k={k}, top_p={p}): you keep {int(mine.sum())} tokens, the engine keeps "
                        f"{int(ours.sum())}: " + self._why(k, p, int(mine.sum()), int(ours.sum())),
                        f"第 {row} 行（top_k={k}，top_p={p}）：你保留了 {int(mine.sum())} 个词元，引擎保留 "
                        f"{int(ours.sum())} 个：" + self._why(k, p, int(mine.sum()), int(ours.sum()), zh=True))
            self.expect(torch.equal(got[row][mine], logits[row][mine]),
                        f"row {row}: the kept tokens' scores changed; filtering only sets the others to -inf",
                        f"第 {row} 行：保留词元的分数被改动了；过滤只应把其他词元设为 -inf")

    @staticmethod
    def _why(k: int, p: float, mine: int, ours: int, zh: bool = False) -> str:
        if p == 1.0 and k == 0:
            return ("这一行两个过滤都关闭，应保留全部词元" if zh
                    else "both filters are off on this row: keep every token")
        if p == 1.0:
            return ("只有 top-k：恰好保留 k 个最好的词元" if zh else "top-k only: keep exactly the k best tokens")
        if mine < ours:
            return ("top-p 保留的是“前面的概率和小于 top_p”的词元，包括越过阈值的那一个；top-p 是在 top-k 之后、"
                    "对剩下的词元重新归一化计算的" if zh else
                    "top-p keeps a token while the tokens before it hold less than top_p (the one that crosses the "
                    "threshold stays), computed on what top-k left, renormalised")
        return ("先做 top-k，再在剩下的词元上做 top-p" if zh else
                "top-k first, then top-p on the renormalised tokens top-k left")

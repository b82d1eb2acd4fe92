"""The engine's four replaceable parts, each a small Protocol with the engine's own class as default.

A learner (notebooks/engine_labs.ipynb) or an experiment passes its own object through
`Engine(..., seams=EngineSeams(...))`; everything around it (KV tensors, metrics, prefix-cache
counters, cancellation, faults) stays the engine's. One seam per idea:

- `BlockAllocator` (block_pool.py `FreeListAllocator`): fixed-size blocks, a free list, reference
  counts, least-recently-freed reuse (PagedAttention, arXiv:2309.06180).
- `PrefixKeys` (block_manager.py `ChainedKeys`): a full block's key from its tokens and its parent's
  key, and the longest cached prefix of a prompt (vLLM's automatic prefix caching).
- `StepPlanner` (scheduler.py `Scheduler.plan`, acting through step.py `Step`): who runs in one step
  and how many tokens, running sequences first, then waiting ones in arrival order (chunked prefill,
  arXiv:2403.02310).
- `VictimPolicy` (step.py `youngest`): which running sequence recompute preemption takes out.

text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .sequence import Sequence


class SeamError(ValueError):
    """A replacement part broke the engine's rules (a victim that is not running, a planner admitting out of
    order); raised to the caller, never turned into one failed request like an allocation fault."""


@runtime_checkable
class BlockAllocator(Protocol):
    """Block ids 0..num_blocks-1 and their reference counts; knows nothing of tokens or keys."""

    @property
    def num_free(self) -> int:
        """Blocks with reference count 0."""

    def allocate(self) -> int:
        """The least recently freed block, now with reference count 1; OutOfBlocks when none is free."""

    def acquire(self, block_id: int) -> None:
        """One more user of `block_id` (it may be free: then it leaves the free list)."""

    def release(self, block_id: int, reuse_first: bool = False) -> None:
        """One user fewer; at 0 the block is free again, reused last (first with `reuse_first`).
        Releasing a block nobody holds is an error."""

    def ref_count(self, block_id: int) -> int:
        """How many users `block_id` has."""


@runtime_checkable
class PrefixKeys(Protocol):
    """How full blocks are named in the prefix cache."""

    def key(self, parent: int | None, tokens: tuple[int, ...]) -> int:
        """Key of a full block holding `tokens` after the block keyed `parent` (None: the first block)."""

    def longest_prefix(self, tokens: list[int], block_size: int,
                       lookup: Callable[[int, tuple[int, ...]], int | None]) -> list[tuple[int, int]]:
        """(block id, key) of each full block of `tokens` found by `lookup(key, block_tokens)`, from the
        first block on, stopping at the first miss."""


class StepPlanner(Protocol):
    """One scheduler step's decisions; `step` (step.py `Step`) carries out each one."""

    # `step` is a step.py `Step`, typed Any here: step.py imports this module (SeamError), and the
    # engine package keeps no import cycle, type-checking imports included (pyproject.toml contracts).
    def plan(self, step: Any) -> None:
        """Give running sequences their decode token or next prompt chunk, then admit waiting ones."""


#: Which running sequence to preempt so that `needy` can grow: (running, oldest first; needy) -> victim.
VictimPolicy = Callable[[list["Sequence"], "Sequence"], "Sequence"]


@dataclass(frozen=True)
class EngineSeams:
    """Replacements for the engine's parts; None keeps the engine's own."""

    allocator: Callable[[int], BlockAllocator] | None = None   # num_blocks -> allocator
    prefix_keys: PrefixKeys | None = None
    planner: StepPlanner | None = None
    victim: VictimPolicy | None = None

    def __post_init__(self) -> None:
        for name in ("allocator", "victim"):
            value: Any = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"EngineSeams.{name} must be callable, got {type(value).__name__}")
        if self.prefix_keys is not None and not isinstance(self.prefix_keys, PrefixKeys):
            raise TypeError("EngineSeams.prefix_keys needs key(parent, tokens) and longest_prefix(...)")
        if self.planner is not None and not callable(getattr(self.planner, "plan", None)):
            raise TypeError("EngineSeams.planner needs a plan(step) method")

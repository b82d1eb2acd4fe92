"""The KV cache's bookkeeping: fixed-size blocks, a free list, reference counts and a prefix index.

The pool knows nothing about tensors: a block is an integer id, and block `b` owns the KV slots
`b * block_size ... b * block_size + block_size - 1` in every layer (kv_cache.py). The ideas follow
vLLM's PagedAttention (arXiv:2309.06180) and its automatic prefix caching, as nano-vllm's block
manager and vLLM v1's `BlockPool` show them:

- A *full* block is keyed by a hash of its tokens and of the hash of the block before it, so equal
  keys mean equal prefixes; a later request with the same prefix reuses the block instead of
  recomputing it (`lookup` + `acquire`).
- Blocks are reference counted: a block shared by three requests is freed when the last one leaves
  (`FreeListAllocator`, replaceable through seams.py's `BlockAllocator`).
- A freed block keeps its KV and its key while it waits in the free list, so it can still be hit;
  `allocate` takes the least recently freed block and only then forgets its key (LRU eviction).
  Blocks that hold no reusable prefix go to the front of the free list, so they are reused first.
text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .seams import BlockAllocator


class OutOfBlocks(RuntimeError):
    """No free block is left (the scheduler preempts or waits; it never lets this reach a request)."""


def block_hash(parent: int | None, tokens: tuple[int, ...]) -> int:
    """Key of a full block: its tokens and (through `parent`) every token before them."""
    return hash((parent, tokens))


class FreeListAllocator:
    """Block ids, reference counts and a free list ordered least recently freed first (seams.BlockAllocator)."""

    def __init__(self, num_blocks: int) -> None:
        self.counts = [0] * num_blocks
        self.free: OrderedDict[int, None] = OrderedDict((i, None) for i in range(num_blocks))  # LRU first

    @property
    def num_free(self) -> int:
        return len(self.free)

    def allocate(self) -> int:
        if not self.free:
            raise OutOfBlocks("no free KV-cache block")
        block_id, _ = self.free.popitem(last=False)
        self.counts[block_id] = 1
        return block_id

    def acquire(self, block_id: int) -> None:
        if self.counts[block_id] == 0:
            del self.free[block_id]
        self.counts[block_id] += 1

    def release(self, block_id: int, reuse_first: bool = False) -> None:
        if self.counts[block_id] <= 0:
            raise RuntimeError(f"block {block_id} released more often than it was taken")
        self.counts[block_id] -= 1
        if self.counts[block_id] == 0:
            self.free[block_id] = None                    # most recently freed end
            if reuse_first:
                self.free.move_to_end(block_id, last=False)

    def ref_count(self, block_id: int) -> int:
        return self.counts[block_id]


@dataclass
class Block:
    """One block of KV slots: when full and cached, its key (reference counts live in the allocator)."""

    block_id: int
    key: int | None = None                 # block_hash(...) once the block is full and registered
    tokens: tuple[int, ...] = ()           # the tokens behind `key` (a hash collision must not match)


class BlockPool:
    """`num_blocks` blocks of `block_size` token slots, shared by every running sequence."""

    def __init__(self, num_blocks: int, block_size: int, enable_prefix_caching: bool = True,
                 allocator: Callable[[int], BlockAllocator] | None = None) -> None:
        if num_blocks < 1 or block_size < 1:
            raise ValueError(f"need num_blocks >= 1 and block_size >= 1, got {num_blocks}, {block_size}")
        self.block_size, self.caching = block_size, enable_prefix_caching
        self.blocks = [Block(i) for i in range(num_blocks)]
        self.allocator: BlockAllocator = (allocator or FreeListAllocator)(num_blocks)
        self.index: dict[int, int] = {}    # key -> block id, for full blocks (prefix cache)
        self.queries = self.hits = 0       # prefix-cache lookups and hits, in tokens (vLLM's counters)
        self.fresh: list[int] = []         # allocated since the last take_fresh(): their old KV is stale

    # ---- accounting ------------------------------------------------------------------------
    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def num_free(self) -> int:
        """Blocks no sequence uses (some still hold a cached prefix until they are reused)."""
        return self.allocator.num_free

    @property
    def num_used(self) -> int:
        return self.num_blocks - self.num_free

    @property
    def usage(self) -> float:
        """Fraction of blocks in use, 0.0 to 1.0 (vLLM's kv_cache_usage_perc)."""
        return self.num_used / self.num_blocks

    # ---- allocation ------------------------------------------------------------------------
    def allocate(self) -> int:
        """A block for new tokens, reference count 1. Evicts the least recently used cached prefix."""
        block_id = self.allocator.allocate()
        block = self.blocks[block_id]
        if block.key is not None:                         # evict: its prefix can no longer be hit
            if self.index.get(block.key) == block_id:
                del self.index[block.key]
            block.key, block.tokens = None, ()
        self.fresh.append(block_id)
        return block_id

    def take_fresh(self) -> list[int]:
        """Blocks allocated since the last call (the model runner clears their KV before a forward)."""
        fresh, self.fresh = self.fresh, []
        return fresh

    def acquire(self, block_id: int) -> None:
        """One more sequence uses `block_id` (a prefix-cache hit)."""
        self.allocator.acquire(block_id)

    def release(self, block_id: int) -> None:
        """One sequence stops using `block_id`; at zero it returns to the free list."""
        self.allocator.release(block_id, reuse_first=self.blocks[block_id].key is None)  # no prefix: reuse first

    def ref_count(self, block_id: int) -> int:
        return self.allocator.ref_count(block_id)

    # ---- prefix cache ----------------------------------------------------------------------
    def lookup(self, key: int, tokens: tuple[int, ...]) -> int | None:
        """The cached block holding exactly this prefix, or None."""
        block_id = self.index.get(key) if self.caching else None
        if block_id is None or self.blocks[block_id].tokens != tokens:
            return None
        return block_id

    def register(self, block_id: int, key: int, tokens: tuple[int, ...]) -> None:
        """Block `block_id` is full and its KV computed: make it findable under `key`."""
        if not self.caching or key in self.index:          # an equal block is cached already
            return
        block = self.blocks[block_id]
        block.key, block.tokens = key, tokens
        self.index[key] = block_id

    def count_query(self, queried_tokens: int, hit_tokens: int) -> None:
        self.queries += queried_tokens
        self.hits += hit_tokens

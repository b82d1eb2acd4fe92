"""Block tables: which pool blocks hold a sequence's tokens, with prefix-cache hits at admission.

Token `p` of a sequence lives in block `seq.block_table[p // block_size]`, at offset
`p % block_size`; nothing is ever copied when sequences join or leave (PagedAttention,
arXiv:2309.06180). At admission the prompt's full blocks are looked up in the prefix cache, the
hits are shared (reference counts) and only the rest is allocated; `seq.num_computed` starts after
the hits, so prefill skips them. The last prompt token is never taken from the cache: its logits
are needed to choose the first new token (vLLM does the same). Follows nano-vllm's
`BlockManager` and vLLM v1's `KVCacheManager`. text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

from collections.abc import Callable

from .block_pool import BlockPool, block_hash
from .seams import PrefixKeys
from .sequence import Sequence


class ChainedKeys:
    """The engine's prefix keys (seams.PrefixKeys): a block's key hashes its tokens and its parent's key."""

    def key(self, parent: int | None, tokens: tuple[int, ...]) -> int:
        return block_hash(parent, tokens)

    def longest_prefix(self, tokens: list[int], block_size: int,
                       lookup: Callable[[int, tuple[int, ...]], int | None]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for i in range(len(tokens) // block_size):
            chunk = tuple(tokens[i * block_size:(i + 1) * block_size])
            key = self.key(found[-1][1] if found else None, chunk)
            block_id = lookup(key, chunk)
            if block_id is None:
                break
            found.append((block_id, key))
        return found


class BlockManager:
    """Gives sequences blocks from one `BlockPool` and takes them back."""

    def __init__(self, pool: BlockPool, keys: PrefixKeys | None = None) -> None:
        self.pool = pool
        self.block_size = pool.block_size
        self.keys: PrefixKeys = keys or ChainedKeys()

    def blocks_for(self, num_tokens: int) -> int:
        """Blocks needed to hold `num_tokens` tokens."""
        return -(-num_tokens // self.block_size)

    def _match(self, tokens: list[int]) -> tuple[list[int], list[int]]:
        """The longest cached prefix of full blocks of tokens[:-1]: (block ids, their keys)."""
        found = self.keys.longest_prefix(list(tokens[:-1]), self.block_size, self.pool.lookup)
        return [block_id for block_id, _ in found], [key for _, key in found]

    def admit(self, seq: Sequence, use_cache: bool = True) -> bool:
        """Give `seq` blocks for all its current tokens, reusing cached ones; False if they do not fit."""
        tokens = seq.token_ids
        caching = use_cache and self.pool.caching
        hits, keys = self._match(tokens) if caching else ([], [])
        needed = self.blocks_for(len(tokens)) - len(hits)
        revived = sum(1 for b in hits if self.pool.ref_count(b) == 0)   # hits now in the free list
        if needed + revived > self.pool.num_free:
            return False
        for block_id in hits:
            self.pool.acquire(block_id)
        seq.block_table = list(hits)
        seq.block_keys = list(keys)
        try:
            for _ in range(needed):
                seq.block_table.append(self.pool.allocate())
        except Exception:
            self.free(seq)
            raise
        seq.num_computed = seq.num_cached = len(hits) * self.block_size
        if caching:
            self.pool.count_query(len(tokens), seq.num_cached)
        return True

    def grow(self, seq: Sequence, num_new: int) -> None:
        """Make room for `num_new` more tokens after `seq.num_computed` (decode: one token)."""
        for _ in range(self.blocks_for(seq.num_computed + num_new) - len(seq.block_table)):
            seq.block_table.append(self.pool.allocate())

    def can_grow(self, seq: Sequence, num_new: int) -> bool:
        return self.blocks_for(seq.num_computed + num_new) - len(seq.block_table) <= self.pool.num_free

    def register_full_blocks(self, seq: Sequence) -> None:
        """Key every block whose tokens are all computed, so later requests can hit it."""
        bs = self.block_size
        while (len(seq.block_keys) + 1) * bs <= seq.num_computed:
            i = len(seq.block_keys)
            chunk = tuple(seq.token_ids[i * bs:(i + 1) * bs])
            key = self.keys.key(seq.block_keys[-1] if seq.block_keys else None, chunk)
            self.pool.register(seq.block_table[i], key, chunk)
            seq.block_keys.append(key)

    def free(self, seq: Sequence) -> None:
        """Return all of `seq`'s blocks (last first, so its prefix stays cached longest)."""
        for block_id in reversed(seq.block_table):
            self.pool.release(block_id)
        seq.block_table, seq.block_keys, seq.num_computed = [], [], 0

    def slots(self, seq: Sequence, start: int, end: int) -> list[int]:
        """KV slot of each token position in [start, end) (slot = block * block_size + offset)."""
        bs, table = self.block_size, seq.block_table
        return [table[p // bs] * bs + p % bs for p in range(start, end)]

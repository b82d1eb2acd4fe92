"""Lab 2: prefix-cache keys (seams.PrefixKeys): a block's key from its tokens and its parent's key, and
the longest cached prefix of a prompt.

The check asks the learner's keys small questions, then runs the engine with them: a prompt sharing
its beginning with an earlier one must hit the cache as often as with the engine's keys, a prompt that
differs from its first block must not hit at all, and every text stays identical to transformers.
Reference: server/engine/block_manager.py ChainedKeys.
"""

from __future__ import annotations

from typing import Any, ClassVar

from . import harness, settings
from .base import Lab
from .guard import guarded

SOLUTION = '''
class MyPrefixKeys:
    def key(self, parent, tokens):
        return hash((parent, tuple(tokens)))

    def longest_prefix(self, tokens, block_size, lookup):
        found = []
        for start in range(0, len(tokens) - block_size + 1, block_size):
            block = tuple(tokens[start:start + block_size])
            key = self.key(found[-1][1] if found else None, block)
            block_id = lookup(key, block)
            if block_id is None:
                break
            found.append((block_id, key))
        return found
'''


class PrefixKeysLab(Lab):
    """Check `MyPrefixKeys`, then run the engine with it on prompts that share a prefix and ones that do not."""

    names: ClassVar[tuple[str, ...]] = ("MyPrefixKeys",)
    hints: ClassVar[dict[str, str]] = {
        "en": ("Two blocks with the same tokens but different beginnings before them hold different KV: what "
               "must the key depend on besides the tokens? For the lookup, walk the prompt one full block at a "
               "time; what should happen at the first block the cache does not have?"),
        "zh": ("词元相同、但前面内容不同的两个块，保存的 KV 也不同：除了词元，键还必须依赖什么？查找时按完整的块逐个"
               "走过提示词；遇到缓存中没有的第一个块时应该怎样？"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _lab(self) -> None:
        (cls,) = self.learner()
        keys = self.wrap("MyPrefixKeys", guarded("MyPrefixKeys()", cls))   # every call time-limited
        self._check_key(keys)
        self._check_longest_prefix(keys)
        self._check_in_engine(keys)

    def _check_key(self, keys: Any) -> None:
        a, b = (1, 2, 3, 4), (5, 6, 7, 8)
        self.expect(keys.key(None, a) == keys.key(None, a), "key(parent, tokens) should give the same key twice",
                    "key(parent, tokens) 两次调用应给出相同的键")
        self.expect(keys.key(None, a) != keys.key(None, b), "two blocks with different tokens got the same key",
                    "词元不同的两个块得到了相同的键")
        first, other = keys.key(None, a), keys.key(None, b)
        self.expect(keys.key(first, a) != keys.key(first, b),
                    "two blocks with different tokens after the same parent got the same key: the key must "
                    "depend on the block's own tokens too",
                    "同一父块之后、词元不同的两个块得到了相同的键：键也必须依赖块自身的词元")
        self.expect(keys.key(first, b) != keys.key(other, b),
                    "the same tokens after two different parents got the same key: the key ignores the parent, so "
                    "a block would be reused after a different beginning (its KV depends on every earlier token)",
                    "相同的词元在两个不同的父块之后得到了相同的键：键忽略了父块，于是前文不同时也会复用这个块"
                    "（它的 KV 取决于之前的每个词元）")

    def _check_longest_prefix(self, keys: Any) -> None:
        tokens = list(range(10, 21))                       # 11 tokens: two full blocks of 4 and 3 left over
        k0 = keys.key(None, tuple(tokens[0:4]))
        k1 = keys.key(k0, tuple(tokens[4:8]))
        cache = {k0: 7, k1: 3}
        got = keys.longest_prefix(tokens, 4, lambda key, block: cache.get(key))
        self.expect(list(map(tuple, got or [])) == [(7, k0), (3, k1)],
                    f"longest_prefix found {got}, expected [(7, key0), (3, key1)]: walk the full blocks in order, "
                    "chaining each key to the previous one, and stop before a partial block",
                    f"longest_prefix 找到 {got}，应为 [(7, key0), (3, key1)]：按顺序遍历完整的块，每个键接上前一个键，"
                    "并在不完整的块之前停下")
        cache = {k1: 3}
        got = keys.longest_prefix(tokens, 4, lambda key, block: cache.get(key))
        self.expect(not got, f"with the first block missing from the cache longest_prefix found {got}: a prefix "
                    "ends at the first miss (a later block is only valid after the same earlier blocks)",
                    f"第一个块不在缓存中时 longest_prefix 仍找到了 {got}：前缀在第一次未命中处结束"
                    "（后面的块只在前面的块相同时才有效）")

    def _check_in_engine(self, keys: Any) -> None:
        from ...server.engine import EngineSeams

        seams = EngineSeams(prefix_keys=keys)
        shared = [harness.prompt_ids(text) for text in settings.PROMPTS[:2]]
        mine, ours = (harness.run(shared, s, arrivals=(0, 2)) for s in (seams, None))
        self.expect_ran(mine, "MyPrefixKeys")
        self.expect_greedy(mine, shared, "MyPrefixKeys")
        self.expect(mine.hits == ours.hits,
                    f"two prompts sharing their beginning: {mine.hits} tokens came from the prefix cache, the "
                    f"engine's keys hit {ours.hits}: look at how the key of block i uses block i-1's key",
                    f"两个开头相同的提示词：{mine.hits} 个词元来自前缀缓存，引擎自己的键命中 {ours.hits} 个："
                    "请看块 i 的键如何使用块 i-1 的键")
        bs = settings.BLOCK_SIZE
        base = shared[0]
        changed = [base, [base[0] + 1, *base[1:]]]           # differs in the first block only
        miss = harness.run(changed, seams, arrivals=(0, 2))
        self.expect_ran(miss, "MyPrefixKeys")
        self.expect(miss.hits == 0,
                    f"a prompt that differs from the first {bs}-token block on hit the cache for {miss.hits} tokens: "
                    "its later blocks look the same but follow a different beginning; the key must include the "
                    "parent's key and the lookup must stop at the first miss",
                    f"从第一个 {bs} 词元块起就不同的提示词，命中缓存 {miss.hits} 个词元：后面的块看似相同，但前文不同；"
                    "键必须包含父块的键，查找必须在第一次未命中处停下")
        self.expect_greedy(miss, changed, "MyPrefixKeys")

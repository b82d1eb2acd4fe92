"""Lab 1: the block allocator (seams.BlockAllocator): fixed-size blocks, a free list, reference counts.

The learner writes `blocks_needed(num_tokens, block_size)` and `MyBlockAllocator(num_blocks)`. The
check first asks the allocator small questions (reuse order, shared blocks), then runs the engine on
the bundled model with it: greedy text identical to transformers, and every block back in the pool
after a finish, a stop sequence and a cancel. Reference: server/engine/block_pool.py FreeListAllocator.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Lab
from .guard import Guarded, guarded

SOLUTION = '''
from collections import OrderedDict


def blocks_needed(num_tokens, block_size):
    return -(-num_tokens // block_size)


class MyBlockAllocator:
    def __init__(self, num_blocks):
        self.counts = [0] * num_blocks
        self.free = OrderedDict((i, None) for i in range(num_blocks))

    @property
    def num_free(self):
        return len(self.free)

    def allocate(self):
        if not self.free:
            raise OutOfBlocks("no free block")
        block_id, _ = self.free.popitem(last=False)
        self.counts[block_id] = 1
        return block_id

    def acquire(self, block_id):
        if self.counts[block_id] == 0:
            del self.free[block_id]
        self.counts[block_id] += 1

    def release(self, block_id, reuse_first=False):
        if self.counts[block_id] <= 0:
            raise RuntimeError(f"block {block_id} is not in use")
        self.counts[block_id] -= 1
        if self.counts[block_id] == 0:
            self.free[block_id] = None
            self.free.move_to_end(block_id, last=not reuse_first)

    def ref_count(self, block_id):
        return self.counts[block_id]
'''


class AllocatorLab(Lab):
    """Check `blocks_needed` and `MyBlockAllocator`, then run the engine with the allocator."""

    names: ClassVar[tuple[str, ...]] = ("blocks_needed", "MyBlockAllocator")
    hints: ClassVar[dict[str, str]] = {
        "en": ("Keep two things per block: how many sequences use it, and whether it waits in the free list. "
               "Which container keeps an order and removes any entry quickly? A block that leaves its last "
               "user goes to the end that allocate() reaches last. What does a prompt of exactly two blocks' "
               "worth of tokens need?"),
        "zh": ("每个块记两件事：有多少个序列在用它，以及它是否在空闲链表里。哪种容器既保留顺序、又能快速删除任意元素？"
               "失去最后一个使用者的块，应放到 allocate() 最晚取到的那一端。恰好装满两个块的提示词需要几个块？"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _lab(self) -> None:
        needed, cls = self.learner()
        self._check_blocks_needed(needed)
        self._check_allocator(cls)
        self._check_in_engine(cls)

    def _check_blocks_needed(self, needed: Any) -> None:
        for tokens, size, want in ((1, 4, 1), (4, 4, 1), (5, 4, 2), (8, 4, 2), (9, 4, 3), (16, 16, 1)):
            got = guarded("blocks_needed", needed, tokens, size)
            self.expect(got == want,
                        f"blocks_needed({tokens}, {size}) is {got}, expected {want}: a block holds {size} tokens; "
                        "look at prompts that fill their last block exactly, and at one token past it",
                        f"blocks_needed({tokens}, {size}) 得到 {got}，应为 {want}：一个块装 {size} 个词元；"
                        "请看恰好填满最后一个块的提示词，以及多出一个词元的情况")

    def _check_allocator(self, cls: Any) -> None:
        a = Guarded("MyBlockAllocator", guarded("MyBlockAllocator(4)", cls, 4), [])   # every call time-limited
        self.expect(a.num_free == 4,
                    "a new MyBlockAllocator(4) should have num_free == 4: every block starts free",
                    "新建的 MyBlockAllocator(4) 应有 num_free == 4：所有块一开始都是空闲的")
        ids = [a.allocate() for _ in range(4)]
        self.expect(sorted(ids) == [0, 1, 2, 3],
                    f"four allocate() calls on 4 blocks gave {ids}: each should give a different id in 0..3",
                    f"对 4 个块调用四次 allocate() 得到 {ids}：每次应给出 0..3 中不同的编号")
        self.expect(all(a.ref_count(b) == 1 for b in ids),
                    "a block just allocated should have ref_count 1 (one sequence uses it)",
                    "刚分配的块 ref_count 应为 1（一个序列在用）")
        self.expect(self._raises(a.allocate),
                    "allocate() with no free block should raise (OutOfBlocks), not return a block that is in use",
                    "没有空闲块时 allocate() 应抛出异常（OutOfBlocks），而不是返回正在使用的块")
        shared = ids[0]
        a.acquire(shared)
        a.release(shared)
        self.expect(a.num_free == 0 and a.ref_count(shared) == 1,
                    "a block acquired by a second sequence and released by one is still in use: free it only "
                    "when its reference count reaches 0 (another sequence still reads it)",
                    "被第二个序列 acquire、又被其中一个 release 的块仍在使用：只有引用计数降到 0 才能释放"
                    "（另一个序列还在读它）")
        for b in (ids[2], ids[0], ids[3]):
            a.release(b)
        self.expect(a.num_free == 3, f"after three blocks were released num_free is {a.num_free}, expected 3",
                    f"释放三个块后 num_free 是 {a.num_free}，应为 3")
        self.expect(self._raises(a.release, ids[0]),
                    "releasing a block that nobody uses should raise: a double free would hand one block to two "
                    "sequences",
                    "释放一个没人使用的块应抛出异常：重复释放会把同一个块交给两个序列")
        first = a.allocate()
        self.expect(first == ids[2],
                    f"allocate() gave block {first}; the least recently freed is {ids[2]}: take the oldest end "
                    "of the free list (its KV stays cached longest for prefix hits)",
                    f"allocate() 给出了块 {first}；最久之前释放的是 {ids[2]}：请从空闲链表最旧的一端取"
                    "（这样其 KV 在前缀缓存中保留最久）")
        a.acquire(ids[3])
        self.expect(a.num_free == 1 and a.ref_count(ids[3]) == 1,
                    "acquire() of a free block (a prefix-cache hit) should take it out of the free list",
                    "对空闲块调用 acquire()（前缀缓存命中）应把它移出空闲链表")
        a.release(first, True)
        self.expect(a.allocate() == first,
                    "release(block, reuse_first=True) should put the block where allocate() takes it next",
                    "release(block, reuse_first=True) 应把块放到 allocate() 下一次取的位置")

    def _check_in_engine(self, cls: Any) -> None:
        from ...server.engine import EngineSeams

        seams = EngineSeams(allocator=self.guard_factory("MyBlockAllocator", cls))
        self.check_texts_and_blocks(seams, "MyBlockAllocator")

    def _raises(self, fn: Any, *args: Any) -> bool:
        try:
            fn(*args)                                      # time-limited: `fn` is a method of the wrapped allocator
        except Exception:  # noqa: BLE001 - any error is the refusal asked for
            return True
        return False

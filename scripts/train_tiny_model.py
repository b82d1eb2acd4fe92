"""Train the bundled `tiny-instruct` model, deterministically, on a synthetic instruction set.

Reproduces scripts/smol_inference/assets/tiny-instruct/ (see README.md, "Run fully offline"):

    python scripts/train_tiny_model.py            # train, save, print the held-out evaluation
    python scripts/train_tiny_model.py --eval-only  # evaluate the shipped files

The recipe, the tasks, training, evaluation and the saved files are modules of scripts/tiny_model/.

What it builds
- A byte-level BPE tokenizer trained on the synthetic corpus, with ChatML special tokens.
- A small Llama-architecture causal LM (the SmolLM2 family's architecture, scaled down).
- Tasks: addition of two integers 0-20, capitals of named countries, colours of common things,
  greetings and a self-introduction. Loss is taken on the assistant's reply only.

Determinism: Python's `random`, torch's generator and the data order are all seeded
(TRAIN_SEED); torch runs deterministic algorithms on TRAIN_THREADS threads. The evaluation set is
drawn with another seed (EVAL_SEED). The task space is finite (441 sums, a fixed list of
countries and things), so "held-out" means an independent sample, not unseen facts: the
check is that the model answers every kind of question with the exact, correct sentence.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent
OUT_DIR = REPO_DIR / "smol_inference" / "assets" / "tiny-instruct"
if str(REPO_DIR) not in sys.path:                                   # tiny_model/ next to this file
    sys.path.insert(0, str(REPO_DIR))

# Re-exported for tests/models/test_tiny_model.py, which loads this file: load, evaluate, evaluation_set, the seeds.
from tiny_model.evaluation import evaluate, evaluation_set  # noqa: E402, F401 - after sys.path; re-exported
from tiny_model.recipe import EVAL_SEED, REQUIRED_ACCURACY, TRAIN_SEED, TinyModelSpec  # noqa: E402, F401 - the same
from tiny_model.storage import load, save  # noqa: E402 - after sys.path
from tiny_model.training import train  # noqa: E402 - after sys.path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where to save the model (default: the bundled one)")
    parser.add_argument("--eval-only", action="store_true", help="evaluate the saved model, do not train")
    parser.add_argument("--steps", type=int, default=TinyModelSpec.steps)
    args = parser.parse_args(argv)
    if args.eval_only:
        model, tokenizer = load(args.out)
    else:
        start = time.perf_counter()
        model, tokenizer = train(TinyModelSpec(steps=args.steps))
        print(f"trained in {time.perf_counter() - start:.0f}s")
        save(model, tokenizer, args.out)
        model, tokenizer = load(args.out)  # evaluate exactly what ships
    accuracy = evaluate(model, tokenizer)
    return 0 if accuracy >= REQUIRED_ACCURACY else 1


if __name__ == "__main__":
    sys.exit(main())

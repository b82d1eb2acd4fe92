"""Notebook exercises that check the learner's own objects, with hints and worked solutions on request.

In a notebook (the learner's globals are passed in once; works in Jupyter, Colab and plain Python)::

    from smol_inference.exercises import exercises
    ex1, ex2, ex3 = exercises("basic_pipeline_inference", globals(), language="en")
    ex1.check()      # "not done yet", "correct", or an AssertionError saying what to fix
    ex1.hint()       # a hint
    ex1.solution()   # the worked solution's code

With COURSE_SOLUTIONS=1, `ex1.fill()` at the top of an exercise cell runs the worked solution there.
One module per exercise; core.py has the shared machinery. README.md, "Exercises".
"""

from __future__ import annotations

from .core import Exercise, NotDone, solutions_enabled

__all__ = ["NOTEBOOKS", "Exercise", "NotDone", "exercises", "solutions_enabled"]

#: Notebook name -> "module:Class" of its exercises, in order (imported lazily: no torch at import).
NOTEBOOKS: dict[str, tuple[str, ...]] = {
    "basic_pipeline_inference": ("pipeline_create:CreatePipeline", "generation_goals:GenerationGoals",
                                 "web_server:WebServer"),
    "tgi_deployment": ("deploy:Deploy", "tuning:Tuning", "monitoring:Monitoring",
                       "structured_tools:StructuredTools", "sizing_cost:SizingCost"),
    "engine_labs": ("labs.allocator:AllocatorLab", "labs.prefix_keys:PrefixKeysLab",
                    "labs.step_planner:StepPlannerLab", "labs.preemption:PreemptionLab", "labs.sampler:SamplerLab"),
}


def exercises(notebook: str, namespace: dict, language: str = "en") -> tuple[Exercise, ...]:
    """The exercises of `notebook` bound to its globals, numbered from 1; `language` "en" or "zh"."""
    from importlib import import_module

    if notebook not in NOTEBOOKS:
        raise ValueError(f"unknown notebook {notebook!r}; known: {', '.join(NOTEBOOKS)}")
    bound = []
    for number, target in enumerate(NOTEBOOKS[notebook], start=1):
        module, name = target.split(":")
        cls = getattr(import_module(f"{__name__}.{module}"), name)
        bound.append(cls(namespace, number, language))
    return tuple(bound)

"""promptcheck: test instruction-tuned language models for robustness to instruction paraphrases.

The public API lives here; everything else may change between releases.

>>> import promptcheck as pc                                   # doctest: +SKIP
>>> task = pc.load_task("examples/suites/sentiment.yaml")     # doctest: +SKIP
>>> result = pc.evaluate(pc.load_model("default"), task)      # doctest: +SKIP
"""

from typing import Any as _Any

from promptcheck.errors import InputError, ModelLoadError, PromptcheckError, ScoringError
from promptcheck.evaluation import InstructionResult, RunResult, TaskResult, evaluate
from promptcheck.models.base import ChoiceScores, Generation, GenerationRequest, ModelIdentity, Scorer
from promptcheck.prompts import Prompt, render
from promptcheck.tasks import GenerationSettings, GenItem, Instruction, Match, MatchSpec, MCItem, Task, load_task, match


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("promptcheck")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


__version__ = _version()

__all__ = [
    "CachedScorer",
    "ChoiceScores",
    "GenItem",
    "Generation",
    "GenerationRequest",
    "GenerationSettings",
    "InputError",
    "Instruction",
    "InstructionResult",
    "Paraphrase",
    "MCItem",
    "Match",
    "MatchSpec",
    "ModelIdentity",
    "ModelLoadError",
    "ModelOptions",
    "Prompt",
    "PromptcheckError",
    "RobustnessError",
    "RobustnessVerdict",
    "RunOptions",
    "RunResult",
    "Scorer",
    "ScoringError",
    "Task",
    "TaskResult",
    "__version__",
    "assert_robust",
    "cached",
    "evaluate",
    "load_bank",
    "load_model",
    "load_task",
    "match",
    "paraphrases",
    "render",
    "run_suites",
    "strategies",
]


def __dir__() -> list[str]:
    # What a user can call, and nothing that only happens to be bound here (submodules, helpers).
    return sorted({*__all__, "__doc__", "__file__", "__name__", "__path__", "__spec__"})


def __getattr__(name: str):  # noqa: ANN202 - the type depends on the name
    # Lazy: scipy, hypothesis and nlpaug load only when a test or command asks for them.
    if name in ("assert_robust", "RobustnessError", "RobustnessVerdict"):
        import promptcheck.assertions as assertions

        return getattr(assertions, name)
    if name in ("cached", "CachedScorer"):
        import promptcheck.models.cache as cache

        return getattr(cache, name)
    if name in ("ModelOptions", "RunOptions"):
        import promptcheck.options as options

        return getattr(options, name)
    if name == "run_suites":
        from promptcheck.pipeline import run_suites

        return run_suites
    if name == "strategies":
        import promptcheck.strategies as strategies

        return strategies
    if name in ("paraphrases", "Paraphrase", "load_bank"):
        import promptcheck.paraphrase as paraphrase

        return getattr(paraphrase, name)
    raise AttributeError(f"module 'promptcheck' has no attribute {name!r}")


def load_model(name_or_path: str = "default", **options: _Any):  # noqa: ANN201 - see models.loading
    """Load a model to score with; see :func:`promptcheck.models.loading.load_model`.

    Imported lazily so ``import promptcheck`` (and ``pytest --help``) never pays for torch.
    """
    from promptcheck.models.loading import load_model as _load

    return _load(name_or_path, **options)

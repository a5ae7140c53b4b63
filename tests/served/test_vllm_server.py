"""The served backend against a REAL vLLM server (CPU build) on 127.0.0.1.

The server serves the default model's transformers copy, the same float32 weights the
in-process backend loads, so the two differ only by kernel arithmetic (operation order in
vLLM's CPU attention and matmuls): measured differences are ~1e-5 on sums of ~-15. Tolerance:
1e-3 absolute per choice log-probability, and every predicted answer must be identical.
"""

from __future__ import annotations

import dataclasses

import pytest

import promptcheck as pc
from promptcheck.errors import ScoringError
from promptcheck.evaluation.runner import evaluate
from promptcheck.models.hf import HFScorer
from promptcheck.models.served import ServedScorer
from promptcheck.models.served_client import RetryPolicy
from promptcheck.tasks.suite import load_task

pytestmark = [pytest.mark.served, pytest.mark.default_model]

TOLERANCE = 1e-3


ITEMS = 12  # vLLM's CPU build answers ~5-10 requests/s here: keep the suite to ~1 min of requests


def _small(task, items: int = ITEMS):
    return dataclasses.replace(task, items=task.items[:items])


def _subset(task, n_instructions: int = 2):
    """The reference plus an observed instruction: enough prompts to mean something, quickly."""
    return [task.reference_instruction, *task.observed[: n_instructions - 1]]


def _flat(result) -> list[float]:
    return [x for r in result.instructions for row in r.logprobs for x in row]


def _compare(served, local, task) -> tuple[float, int]:
    instructions = _subset(task)
    a = evaluate(served, task, instructions)
    b = evaluate(local, task, instructions)
    worst, n = 0.0, 0
    for ra, rb in zip(a.instructions, b.instructions):
        assert ra.text == rb.text
        assert ra.predictions == rb.predictions, f"predictions differ under {ra.text!r}"
        for la, lb in zip(ra.logprobs, rb.logprobs):
            for x, y in zip(la, lb):
                worst = max(worst, abs(x - y))
                n += 1
    return worst, n


@pytest.fixture(scope="module")
def capitals(examples_dir):
    return _small(load_task(examples_dir / "capitals.yaml"))


@pytest.mark.parametrize("fmt", ["texts", "letters"])
def test_served_scores_match_in_process_with_chat_template(vllm_server, default_model, capitals, fmt):
    served = pc.load_model(vllm_server.url, tokenizer="default", max_concurrency=4)
    assert served.use_chat_template and served.identity.id == "smollm2"
    assert served.chat_formatter()("hi") == default_model.chat_formatter()("hi")
    task = dataclasses.replace(capitals, format=fmt)
    worst, n = _compare(served, default_model, task)
    assert n == 2 * len(task.items) * 3
    assert worst < TOLERANCE


def test_served_scores_match_in_process_on_raw_text(vllm_server, default_model, examples_dir):
    """No chat template: continuations start with a space (" Positive"), boundaries inside BPE merges."""
    served = pc.load_model(vllm_server.url, chat_template=False, max_concurrency=4)
    assert served.chat_formatter() is None
    local = HFScorer(default_model.model, default_model.tokenizer, default_model.identity, use_chat_template=False)
    task = _small(load_task(examples_dir / "sentiment.yaml"))
    worst, _ = _compare(served, local, task)
    assert worst < TOLERANCE


def test_replicas_share_the_queue_and_give_the_same_scores(vllm_server, default_model_dir, capitals):
    # Two endpoint URLs (two spellings of the one server) are two replicas to the client: each
    # has its own workers on the one queue. The scores cannot depend on which one answered.
    one = pc.load_model(vllm_server.url, tokenizer=str(default_model_dir), max_concurrency=2)
    both_url = f"{vllm_server.url},http://localhost:{vllm_server.port}/v1"
    both = pc.load_model(both_url, tokenizer=str(default_model_dir), max_concurrency=2)
    assert [e.url for e in both.endpoints] == [vllm_server.url, f"http://localhost:{vllm_server.port}/v1"]
    assert both.identity == one.identity  # the URL is not part of what the model is
    instructions = _subset(capitals, 1)
    a = evaluate(one, capitals, instructions)
    b = evaluate(both, capitals, instructions)
    assert _flat(b) == pytest.approx(_flat(a), abs=1e-4)
    assert all(e.answered > 0 for e in both.endpoints), [e.answered for e in both.endpoints]
    assert sum(e.answered for e in both.endpoints) == one.endpoints[0].answered


def test_killed_server_errors_naming_it_and_the_rerun_resumes_from_the_score_cache(
    vllm_server, default_model, capitals, tmp_path
):
    """SIGKILL the server mid-run: one ScoringError names it; after a restart, the re-run scores
    only what the cache does not hold, and each missing text is requested once."""
    from promptcheck.models.cache import CachedScorer

    served = ServedScorer(
        [vllm_server.url],
        max_concurrency=2,
        chat_template=default_model.chat_formatter(),
        policy=RetryPolicy(retries=2, backoff=0.2, timeout=20.0),
    )
    prompts = [
        pc.render(ins, item, capitals, chat_formatter=served.chat_formatter())
        for ins in _subset(capitals)
        for item in capitals.items
    ]
    path = tmp_path / "scores.sqlite"
    first = CachedScorer(served, path, chunk=4)
    seen = []

    def progress(n: int) -> None:
        seen.append(n)
        if sum(seen) >= 10:
            vllm_server.kill()

    try:
        with pytest.raises(ScoringError) as info:
            first.score(prompts, progress=progress)
        message = str(info.value)
        assert vllm_server.url in message and "stopped answering" in message and "\n" not in message
        stored = first.stats.scored
        assert 8 <= stored < len(prompts) and len(first.store) == stored
        first.close()
    finally:
        vllm_server.stop()
        vllm_server.start()  # the same port: later tests need it back
    answered = served.endpoints[0].answered
    again = CachedScorer(served, path, chunk=4)
    scores = again.score(prompts)
    assert (again.stats.hits, again.stats.scored) == (stored, len(prompts) - stored)
    assert served.endpoints[0].answered - answered == (len(prompts) - stored) * capitals.n_choices
    local = default_model.score(prompts)
    for a, b in zip(scores, local):
        assert a.logprobs == pytest.approx(b.logprobs, abs=TOLERANCE)


def test_cli_run_scores_a_suite_through_the_server(vllm_server, examples_dir, tmp_path):
    from typer.testing import CliRunner

    from promptcheck.cli.main import app

    items = (examples_dir / "yesno.jsonl").read_text().splitlines()[:6]
    (tmp_path / "items.jsonl").write_text("\n".join(items) + "\n")
    suite = (examples_dir / "yesno.yaml").read_text().replace("yesno.jsonl", "items.jsonl")
    (tmp_path / "suite.yaml").write_text(suite)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(tmp_path / "suite.yaml"),
            "--model",
            vllm_server.url,
            "--served-model",
            "smollm2",
            "--tokenizer",
            "default",
            "--max-concurrency",
            "4",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "model: smollm2" in res.output and "chat template on" in res.output
    import json

    doc = json.loads(out.read_text())
    assert doc["model"]["architecture"] == "served:vllm" and len(doc["model"]["weights_hash"]) == 64
    assert len(doc["tasks"][0]["items"]) == 6


def test_served_free_form_answers_match_in_process_greedy_answers(vllm_server, default_model, examples_dir):
    """A free-form task through a real vLLM server: /v1/completions at temperature 0 writes the answers
    the in-process backend writes (greedy on the same float32 weights; kernel arithmetic may break a
    rare near-tie, so at most one answer of 16 may differ), and every cell gets an outcome."""
    served = pc.load_model(vllm_server.url, tokenizer="default", max_concurrency=4)
    task = _small(load_task(examples_dir / "capitals_free.yaml"), 8)
    instructions = [task.reference_instruction, task.unobserved[0]]
    a = evaluate(served, task, instructions)
    b = evaluate(default_model, task, instructions)
    theirs = [o for r in a.instructions for o in r.outputs]
    ours = [o for r in b.instructions for o in r.outputs]
    assert len(theirs) == 16 and sum(x != y for x, y in zip(theirs, ours)) <= 1, list(zip(theirs, ours))
    assert all(o in ("correct", "misformatted", "unparsed", "wrong") for r in a.instructions for o in r.outcomes)

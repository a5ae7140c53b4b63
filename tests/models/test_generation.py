"""Free-form answers (issue #26): greedy generation as a declared capability of every backend.

The in-process backend's answers equal transformers' own ``model.generate`` run one prompt at
a time (so left-padded batches change nothing), stop strings and limits end them where they
should, the score cache stores them, and the served backend sends what vLLM needs.

The tiny models' weights are redrawn at a larger scale: at their usual init they repeat one
token forever, and a test comparing "\\n\\n\\n..." with "\\n\\n\\n..." could not fail.
"""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
import torch

from promptcheck.errors import InputError, ScoringError
from promptcheck.models.base import Generates, Generation, GenerationRequest, ModelIdentity, capability
from promptcheck.models.cache import CachedScorer
from promptcheck.models.hf import HFScorer
from promptcheck.models.served import ServedScorer
from promptcheck.models.served_client import RetryPolicy

QUESTIONS = [
    "What is the capital of France?",
    "Hi",
    "Is this review positive or negative? The film was long, loud and far too pleased with itself.",
    "Name the capital of Japan.",
    "Answer yes or no: is the sea salty?",
    "Translate to French: the cat sleeps on the warm stone wall all afternoon",
]


def _lively(model, seed: int = 0):
    """Redraw every weight but the norms at std 0.5: varied greedy answers, no near-ties."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


def _causal(**kw) -> HFScorer:
    from tiny_models import tiny_causal

    model, tok = tiny_causal(0)
    return HFScorer(_lively(model), tok, ModelIdentity(id="tiny-lively-llama", weights_hash="w1"), **kw)


def _seq2seq(**kw) -> HFScorer:
    from tiny_models import tiny_seq2seq

    model, tok = tiny_seq2seq(0)
    return HFScorer(_lively(model), tok, ModelIdentity(id="tiny-lively-t5", weights_hash="w2", is_seq2seq=True), **kw)


@pytest.fixture(scope="module")
def causal() -> HFScorer:
    return _causal(batch_size=4)


@pytest.fixture(scope="module")
def contexts(causal) -> list[str]:
    fmt = causal.chat_formatter()
    assert fmt is not None  # the tiny tokenizer has a chat template: generation reads its rendered text
    return [fmt(q) for q in QUESTIONS]


def _reference(scorer: HFScorer, context: str, max_new_tokens: int) -> tuple[list[int], str, str]:
    """transformers' own greedy ``generate`` on one unpadded prompt: new tokens, their text up to
    EOS, and how it ended ("eos" or "length")."""
    tok, model = scorer.tokenizer, scorer.model
    special = scorer.is_seq2seq or not scorer.use_chat_template
    ids = torch.tensor([tok(context, add_special_tokens=special)["input_ids"]])
    with torch.no_grad():
        out = model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=max_new_tokens
        )
    new = out[0, 1 if scorer.is_seq2seq else ids.shape[1] :].tolist()
    eos = model.generation_config.eos_token_id
    eos = set(eos) if isinstance(eos, list) else {eos}
    end = next((j for j, t in enumerate(new) if t in eos), None)
    if end is None:
        return new, tok.decode(new, skip_special_tokens=True), "length"
    return new, tok.decode(new[:end], skip_special_tokens=True), "eos"


def _pick_stop(text: str, start: int) -> str:
    """Two plain characters of ``text`` at or after ``start``, not found earlier in it."""
    for i in range(start, len(text) - 3):
        piece = text[i : i + 2]
        if piece.isascii() and piece.isprintable() and not piece.isspace() and text.index(piece) == i:
            return piece
    raise AssertionError(f"no usable stop string in {text!r}")


class Calls:
    """Counts a model's forward passes (one per token ``generate`` makes, after a one-row prompt)."""

    def __init__(self, model):
        self.n = 0
        self.handle = model.register_forward_hook(self._count)

    def _count(self, module, args, output):
        self.n += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def _batch_rows(model) -> tuple[list[int], object]:
    """Rows of every forward pass the model runs from now on, and the hook's handle."""
    rows: list[int] = []

    def pre(module, args, kwargs):
        ids = kwargs.get("input_ids")
        if ids is not None:
            rows.append(ids.shape[0])

    return rows, model.register_forward_pre_hook(pre, with_kwargs=True)


# -- the transformers backend --------------------------------------------------------------------


def test_left_padded_batches_equal_transformers_generate_one_prompt_at_a_time(causal, contexts):
    limits = [12, 12, 5, 12, 9, 12]
    requests = [GenerationRequest(c, n) for c, n in zip(contexts, limits)]
    lengths = [len(causal.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in contexts]
    assert len(set(lengths)) > 3  # rows of one batch really differ in length: left padding is exercised
    side = causal.tokenizer.padding_side
    rows, handle = _batch_rows(causal.model)
    try:
        got = causal.generate(requests)
    finally:
        handle.remove()
    assert max(rows) > 1  # batched (batch_size 4)
    assert causal.tokenizer.padding_side == side  # scoring's padding is left alone
    for request, answer in zip(requests, got):
        _, text, finish = _reference(causal, request.context, request.max_new_tokens)
        assert (answer.text, answer.finish) == (text, finish)
    assert len({a.text for a in got}) == len(got)  # varied answers: the comparison could fail


def test_a_shared_instruction_prefix_runs_once_and_changes_no_answer():
    scorer = _causal()
    fmt = scorer.chat_formatter()
    instruction = "Classify the sentiment of the review as positive or negative.\n\n"
    requests = [GenerationRequest(fmt(instruction + q), 10, stop=("zq",)) for q in QUESTIONS]
    rows, handle = _batch_rows(scorer.model)
    try:
        shared = scorer.generate(requests)
    finally:
        handle.remove()
    assert rows[0] == 1  # the prefix: one row, run once for the batch of six
    scorer.share_prefix = False
    assert scorer.generate(requests) == shared
    for request, answer in zip(requests, shared):
        assert (answer.text, answer.finish) == _reference(scorer, request.context, 10)[1:]


def test_answers_come_back_in_request_order_and_repeats_are_answered(causal, contexts):
    requests = [GenerationRequest(c, 6) for c in contexts]
    forward = causal.generate(requests)
    backward = causal.generate(requests[::-1] + [requests[0]])
    assert backward == forward[::-1] + [forward[0]]


def test_generation_is_deterministic_and_leaves_the_global_rng_alone(causal, contexts):
    requests = [GenerationRequest(c, 8) for c in contexts]
    state = torch.get_rng_state()
    first = causal.generate(requests)
    assert torch.equal(state, torch.get_rng_state())
    assert causal.generate(requests) == first


def test_max_new_tokens_is_honoured_one_forward_pass_per_token(contexts):
    scorer = _causal()
    texts = []
    for n in (1, 3, 7):
        with Calls(scorer.model) as calls:
            (answer,) = scorer.generate([GenerationRequest(contexts[0], n)])
        assert (answer.finish, calls.n) == ("length", n)  # prefill + n-1 steps: nothing generated past n
        assert answer.text == _reference(scorer, contexts[0], n)[1]
        texts.append(answer.text)
    assert texts[0] != texts[1] != texts[2]


def test_stop_strings_cut_the_text_and_end_generation_per_row(causal, contexts):
    full = causal.generate([GenerationRequest(c, 12) for c in contexts])
    text = full[0].text
    stop = _pick_stop(text, 4)
    at = text.index(stop)
    other = full[2].text
    stop2 = _pick_stop(other, 6)
    requests = [
        GenerationRequest(contexts[0], 12, stop=(stop,)),
        GenerationRequest(contexts[1], 12),  # no stop in the same batch
        GenerationRequest(contexts[2], 12, stop=("\x00never", stop2)),  # several stops, another list
    ]
    got = causal.generate(requests)
    assert got[0] == Generation(text[:at], "stop")  # cut before the stop; the stop itself left out
    assert got[1] == full[1]
    assert got[2] == Generation(other[: other.index(stop2)], "stop")
    # The earliest of several stops wins, whatever their order in the list.
    later = _pick_stop(text, at + 2)
    assert causal.generate([GenerationRequest(contexts[0], 12, stop=(later, stop))])[0].text == text[:at]
    # A row that produced its stop is not decoded further.
    single = _causal()
    with Calls(single.model) as stopped:
        single.generate([GenerationRequest(contexts[0], 12, stop=(stop,))])
    assert stopped.n < 12


def test_finish_eos_when_the_model_ends_its_answer(contexts):
    scorer = _causal()
    tokens, _, finish = _reference(scorer, contexts[3], 10)
    assert finish == "length"
    end_token = tokens[3]  # pretend this token is the model's end-of-sequence
    scorer.model.generation_config.eos_token_id = end_token
    (answer,) = scorer.generate([GenerationRequest(contexts[3], 10)])
    cut = tokens.index(end_token)
    assert answer == Generation(scorer.tokenizer.decode(tokens[:cut], skip_special_tokens=True), "eos")
    assert _reference(scorer, contexts[3], 10)[1:] == (answer.text, "eos")  # transformers, same config, agrees


def test_seq2seq_models_generate_like_transformers(tiny_seq2seq_dir):
    scorer = _seq2seq(batch_size=3)
    requests = [GenerationRequest(q, n) for q, n in zip(QUESTIONS, [10, 10, 4, 10, 10, 7])]
    got = scorer.generate(requests)
    for request, answer in zip(requests, got):
        assert (answer.text, answer.finish) == _reference(scorer, request.context, request.max_new_tokens)[1:]
    assert len({a.text for a in got}) > 3
    # and the stock tiny T5 loaded from a folder generates through load_model's scorer
    from promptcheck.models.loading import load_model

    plain = load_model(str(tiny_seq2seq_dir))
    assert isinstance(plain, Generates)
    (answer,) = plain.generate([GenerationRequest("Hi", 3)])
    assert (answer.text, answer.finish) == _reference(plain, "Hi", 3)[1:]


def test_a_prompt_too_long_for_the_model_is_named(causal):
    with pytest.raises(ScoringError) as info:
        causal.generate([GenerationRequest("Hi", 4), GenerationRequest("Hi", 600)])
    assert info.value.field == "request 1" and "context (512)" in str(info.value)


# -- the score cache -----------------------------------------------------------------------------


class Counting:
    """A backend that counts the generations it is asked for (optionally stopping after some calls)."""

    def __init__(self, inner, stop_after_calls: int | None = None):
        self.inner, self.identity = inner, inner.identity
        self.calls, self.requests = 0, 0
        self.stop_after_calls = stop_after_calls

    def chat_formatter(self):
        return self.inner.chat_formatter()

    def fingerprint(self):
        return self.inner.fingerprint()

    def score(self, prompts, *, progress=None):
        return self.inner.score(prompts, progress=progress)

    def generate(self, requests, *, progress=None):
        if self.stop_after_calls is not None and self.calls >= self.stop_after_calls:
            raise KeyboardInterrupt
        self.calls += 1
        self.requests += len(requests)
        return self.inner.generate(requests, progress=progress)


def test_cache_on_and_off_agree_and_a_warm_run_makes_no_model_call(causal, contexts, tmp_path):
    requests = [GenerationRequest(c, 8, stop=(("\n",) if i % 2 else ())) for i, c in enumerate(contexts)]
    plain = causal.generate(requests)
    cold_inner = Counting(causal)
    cold = CachedScorer(cold_inner, tmp_path / "s.sqlite")
    assert isinstance(cold, Generates) and capability(cold, Generates) is cold
    done: list[int] = []
    assert cold.generate(requests + requests[:2], progress=done.append) == plain + plain[:2]
    assert cold_inner.requests == len(requests) and sum(done) == len(requests) + 2
    warm_inner = Counting(causal)
    warm = CachedScorer(warm_inner, tmp_path / "s.sqlite")
    assert warm.generate(requests) == plain
    assert warm_inner.calls == 0 and warm.stats.hits == len(requests) and warm.stats.generated == 0
    # every field of the request is in the key: another limit or stop list is another answer
    other = [GenerationRequest(contexts[0], 7), GenerationRequest(contexts[0], 8, stop=("zz",))]
    warm.generate(other)
    assert warm_inner.requests == 2
    # scores and generations share the file but never a key
    assert all(
        key.startswith("gen:") for (key,) in sqlite3.connect(tmp_path / "s.sqlite").execute("SELECT key FROM scores")
    )


def test_an_interrupted_generation_run_resumes_and_a_damaged_row_is_redone(causal, contexts, tmp_path):
    requests = [GenerationRequest(c, 5) for c in contexts]
    path = tmp_path / "s.sqlite"
    first = CachedScorer(Counting(causal, stop_after_calls=2), path, chunk=2)
    with pytest.raises(KeyboardInterrupt):
        first.generate(requests)
    first.close()
    resumed_inner = Counting(causal)
    resumed = CachedScorer(resumed_inner, path, chunk=2)
    got = resumed.generate(requests)
    assert resumed_inner.requests == len(requests) - 4  # two chunks of two were stored before the kill
    assert got == causal.generate(requests)
    resumed.close()
    with sqlite3.connect(path) as db:
        key, value = db.execute("SELECT key, value FROM scores ORDER BY key LIMIT 1").fetchone()
        db.execute("UPDATE scores SET value = ? WHERE key = ?", (value.replace('"finish"', '"finis"'), key))
    again_inner = Counting(causal)
    again = CachedScorer(again_inner, path)
    assert again.generate(requests) == got
    assert again_inner.requests == 1 and again.store.dropped_rows == 1


def test_a_cache_in_front_of_a_scorer_that_cannot_generate_does_not_claim_it(tmp_path):
    from tiny_models import RuleModel

    cached = CachedScorer(RuleModel("rule", lambda text: True), tmp_path / "s.sqlite")
    assert not isinstance(cached, Generates) and capability(cached, Generates) is None


# -- the served backend --------------------------------------------------------------------------

FAST = RetryPolicy(retries=2, backoff=0.01, max_backoff=0.02, timeout=5.0)
MODELS = {"object": "list", "data": [{"id": "m", "owned_by": "vllm", "root": "/models/m", "created": 1}]}


def _written(prompt: str) -> str:
    """The fake model's whole answer to a prompt: one character per token, ending with EOS."""
    return f" answer to {prompt[-8:]}. The end."


class FakeVLLM:
    """An OpenAI-compatible /v1/completions that writes like vLLM: greedy, stops, stop_reason."""

    def __init__(self, stop_reason: bool = True, fail_first: int = 0):
        self.payloads: list[dict] = []
        self.stop_reason = stop_reason
        self.fail_first = fail_first

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json=MODELS)
        if self.fail_first:
            self.fail_first -= 1
            return httpx.Response(503)
        body = json.loads(request.content)
        self.payloads.append(body)
        whole = _written(body["prompt"])
        text, reason, why = whole, "stop", None  # EOS after the whole answer
        cuts = [(whole.find(s), s) for s in body.get("stop", []) if s in whole]
        if cuts:
            at, s = min(cuts)
            text, why = whole[:at], s
        if len(text) > body["max_tokens"]:
            text, reason, why = text[: body["max_tokens"]], "length", None
        choice = {"index": 0, "text": text, "finish_reason": reason}
        if self.stop_reason:
            choice["stop_reason"] = why
        return httpx.Response(200, json={"choices": [choice], "usage": {"completion_tokens": len(text)}})


def _served(server: FakeVLLM, **kw) -> ServedScorer:
    return ServedScorer(["http://a:1/v1"], transport=httpx.MockTransport(server), policy=FAST, **kw)


def test_served_generation_sends_max_tokens_stop_and_temperature_zero():
    server = FakeVLLM(fail_first=1)  # a 503 first: retried as scoring retries
    scorer = _served(server, max_concurrency=3)
    assert isinstance(scorer, Generates)
    prompts = [f"Question {i}: what?" for i in range(12)]
    requests = [GenerationRequest(p, 40, stop=(".",)) for p in prompts]
    requests += [GenerationRequest(prompts[0], 5), GenerationRequest(prompts[1], 60), requests[0]]
    done: list[int] = []
    got = scorer.generate(requests, progress=done.append)
    for p, answer in zip(prompts, got):
        assert answer == Generation(_written(p)[: _written(p).index(".")], "stop")
    assert got[12] == Generation(_written(prompts[0])[:5], "length")
    assert got[13] == Generation(_written(prompts[1]), "eos")
    assert got[14] == got[0] and sum(done) == len(requests)
    assert len(server.payloads) == 14  # the repeated request is sent once
    sent = {(b["prompt"], b["max_tokens"], tuple(b.get("stop", ()))) for b in server.payloads}
    assert (prompts[0], 40, (".",)) in sent and (prompts[0], 5, ()) in sent
    assert all(b["temperature"] == 0 and b["model"] == "m" and "echo" not in b for b in server.payloads)


def test_served_finish_without_vllms_stop_reason_and_a_stop_the_server_ignored():
    scorer = _served(FakeVLLM(stop_reason=False))
    stop, eos = scorer.generate([GenerationRequest("Q: a", 60, stop=("end",)), GenerationRequest("Q: a", 60)])
    assert stop == Generation(" answer to Q: a. The ", "stop") and eos.finish == "eos"

    class Deaf(FakeVLLM):  # ignores "stop": the text still holds it, and is cut here
        def __call__(self, request):
            if request.url.path.endswith("/completions"):
                body = json.loads(request.content)
                body.pop("stop", None)
                request = httpx.Request("POST", request.url, json=body)
            return super().__call__(request)

    (cut,) = _served(Deaf()).generate([GenerationRequest("Q: a", 60, stop=("The",))])
    assert cut == Generation(" answer to Q: a. ", "stop")


def test_served_generation_through_the_cache_costs_no_request_when_warm(tmp_path):
    server = FakeVLLM()
    requests = [GenerationRequest(f"Q{i}", 20) for i in range(5)]
    cold = CachedScorer(_served(server), tmp_path / "s.sqlite")
    first = cold.generate(requests)
    assert len(server.payloads) == 5
    warm = CachedScorer(_served(server), tmp_path / "s.sqlite")
    assert warm.generate(requests) == first and len(server.payloads) == 5


def test_a_malformed_completion_is_one_line_naming_the_server():
    class Broken(FakeVLLM):
        def __call__(self, request):
            if request.url.path.endswith("/completions"):
                return httpx.Response(200, json={"choices": [{"finish_reason": "stop"}]})
            return super().__call__(request)

    with pytest.raises(ScoringError, match=r"http://a:1/v1 sent a completion without choices/text") as info:
        _served(Broken()).generate([GenerationRequest("Q", 3)])
    assert "\n" not in str(info.value)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "8", None])
def test_max_new_tokens_must_be_a_positive_integer(bad):
    with pytest.raises(InputError) as info:
        GenerationRequest("Q", max_new_tokens=bad)
    assert info.value.field == "max_new_tokens" and "\n" not in str(info.value)
    assert str(info.value).startswith("max_new_tokens: must be a positive integer")


def test_stop_strings_are_checked_and_one_string_is_one_stop():
    assert GenerationRequest("Q", stop="\n").stop == ("\n",)
    assert GenerationRequest("Q", stop=["a", "b"]).stop == ("a", "b")  # type: ignore[arg-type]
    for bad in [("",), (3,), 5]:
        with pytest.raises(InputError) as info:
            GenerationRequest("Q", stop=bad)  # type: ignore[arg-type]
        assert info.value.field == "stop"
    with pytest.raises(InputError) as info:
        GenerationRequest(None)  # type: ignore[arg-type]
    assert info.value.field == "context"

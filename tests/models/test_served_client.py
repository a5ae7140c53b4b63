"""The served backend's client logic, without a server: retries, failover, boundaries, refusals.

The real-server behaviour (scores equal to the in-process backend) is proved in
tests/served against vLLM; these tests pin what a server cannot easily be made to do on
demand (answer 503 twice, then 200; send a malformed body; serve two models).
"""

from __future__ import annotations

import json

import httpx
import pytest

from promptcheck.errors import ModelLoadError, ScoringError
from promptcheck.models.loading import load_model
from promptcheck.models.served import ServedScorer, continuation_logprob, parse_endpoints
from promptcheck.models.served_client import RetryPolicy
from promptcheck.prompts.rendering import Prompt

FAST = RetryPolicy(retries=2, backoff=0.01, max_backoff=0.02, timeout=5.0)
MODELS = {"object": "list", "data": [{"id": "m", "owned_by": "vllm", "root": "/models/m", "created": 1}]}


# A toy server: one "token" per character, log-probability -(ord(c) % 7) - 0.5; the first
# token has none, as in vLLM's echo.
def _echo(prompt: str) -> dict:
    values = [None] + [-(ord(c) % 7) - 0.5 for c in prompt[1:]]
    return {
        "choices": [
            {
                "text": prompt,
                "logprobs": {"tokens": list(prompt), "token_logprobs": values, "text_offset": list(range(len(prompt)))},
            }
        ],
        "usage": {"prompt_tokens": len(prompt)},
    }


def _expected(cont: str) -> float:
    return sum(-(ord(c) % 7) - 0.5 for c in cont)


class Server:
    """A scripted transport: per-host queues of canned failures before echoing."""

    def __init__(self, failures: dict[str, list] | None = None, models: dict | None = None) -> None:
        self.failures = failures or {}
        self.models = models or MODELS
        self.completions: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json=self.models)
        queue = self.failures.get(host, [])
        if queue:
            fail = queue.pop(0)
            if isinstance(fail, Exception):
                raise fail
            return fail
        self.completions[host] = self.completions.get(host, 0) + 1
        return httpx.Response(200, json=_echo(json.loads(request.content)["prompt"]))


def _scorer(server: Server, urls=("http://a:1/v1",), **kw) -> ServedScorer:
    return ServedScorer(list(urls), transport=httpx.MockTransport(server), policy=FAST, **kw)


PROMPTS = [
    Prompt("Q1 Answer:", (" yes", " no")),
    Prompt("Q2 Answer:", (" yes", " no")),
    Prompt("Q1 Answer:", (" yes", " maybe")),
]


def test_scores_sum_the_continuation_tokens_and_repeat_texts_are_requested_once():
    server = Server()
    scores = _scorer(server).score(PROMPTS)
    assert scores[0].logprobs == pytest.approx((_expected(" yes"), _expected(" no")))
    assert scores[0].n_tokens == (4, 3) and scores[0].n_chars == (3, 2)
    assert scores[2].logprobs[0] == scores[0].logprobs[0]
    assert server.completions == {"a": 5}  # 6 cells, "Q1 Answer: yes" asked once


def test_retries_429_and_503_then_succeeds():
    server = Server({"a": [httpx.Response(429, headers={"retry-after": "0"}), httpx.Response(503)]})
    scores = _scorer(server, max_concurrency=1).score(PROMPTS[:1])
    assert scores[0].logprobs == pytest.approx((_expected(" yes"), _expected(" no")))


def test_timeouts_and_dropped_connections_are_retried():
    server = Server({"a": [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")]})
    assert len(_scorer(server, max_concurrency=1).score(PROMPTS[:1])) == 1


def test_a_dead_replica_hands_its_work_to_the_others():
    server = Server({"b": [httpx.ConnectError("refused")] * 100})
    # b first: its workers take the first requests, fail them three times each, hand them back.
    scorer = _scorer(server, urls=("http://b:1/v1", "http://a:1/v1"), max_concurrency=2)
    scores = scorer.score(PROMPTS)
    assert scores[1].logprobs == pytest.approx((_expected(" yes"), _expected(" no")))
    assert server.completions == {"a": 5}
    assert scorer.endpoints[0].dead == "connection refused" and scorer.endpoints[0].answered == 0


def test_every_endpoint_dead_is_one_line_naming_them():
    server = Server({"a": [httpx.ConnectError("refused")] * 100})
    with pytest.raises(ScoringError) as info:
        _scorer(server).score(PROMPTS)
    message = str(info.value)
    assert "http://a:1/v1 (connection refused)" in message and "stopped answering after 3 tries" in message
    assert "\n" not in message


def test_a_refused_request_is_not_retried_and_says_why():
    server = Server({"a": [httpx.Response(400, json={"error": {"message": "logprobs too large"}})] * 1})
    with pytest.raises(ScoringError, match=r"http://a:1/v1 refused a request \(400\): logprobs too large"):
        _scorer(server, max_concurrency=1).score(PROMPTS[:1])


def test_a_server_without_prompt_logprobs_is_named_plainly():
    # llama.cpp's llama-server: echo ignored, logprobs of the generated token only.
    body = {
        "choices": [{"text": "x", "logprobs": {"tokens": ["x"], "token_logprobs": [-0.1]}}],
        "usage": {"prompt_tokens": 5},
    }
    with pytest.raises(ScoringError, match="does not return prompt log-probabilities"):
        continuation_logprob(body, "Q:", " yes", "http://a:1/v1")


def test_a_token_merging_context_and_answer_belongs_to_the_answer():
    # "Answer:" + " yes" tokenized as ["Answer", ": yes"]: the merged token is the answer's.
    body = {
        "choices": [{"logprobs": {"tokens": ["Answer", ": yes"], "token_logprobs": [None, -2.0]}}],
        "usage": {"prompt_tokens": 2},
    }
    assert continuation_logprob(body, "Answer:", " yes", "u") == (-2.0, 1)


def test_a_bos_token_and_a_generated_token_do_not_shift_the_boundary():
    body = {
        "choices": [
            {
                "logprobs": {
                    "tokens": ["<s>", "Q", ":", " yes", "!"],
                    "token_logprobs": [None, -1.0, -2.0, -3.0, -9.0],
                    "text_offset": [0, 3, 4, 5, 9],
                }
            }
        ],
        "usage": {"prompt_tokens": 4},
    }
    assert continuation_logprob(body, "Q:", " yes", "u") == (-3.0, 1)


def test_an_empty_context_has_no_first_token_logprob():
    with pytest.raises(ScoringError, match="empty prompt"):
        continuation_logprob(_echo("yes"), "", "yes", "u")


def test_several_models_need_served_model_and_a_wrong_name_is_refused():
    two = {"data": [{"id": "m"}, {"id": "n"}]}
    with pytest.raises(ModelLoadError, match="serves 2 models .*--served-model"):
        _scorer(Server(models=two))
    assert _scorer(Server(models=two), served_model="n").served_model == "n"
    with pytest.raises(ModelLoadError, match="does not serve 'x'"):
        _scorer(Server(models=two), served_model="x")


def test_replicas_must_serve_the_same_model():
    class Two(Server):
        def __call__(self, request):
            if request.url.host == "b" and request.url.path.endswith("/models"):
                return httpx.Response(200, json={"data": [{"id": "m", "root": "/other"}]})
            return super().__call__(request)

    with pytest.raises(ModelLoadError, match="serves a different model"):
        _scorer(Two(), urls=("http://a:1/v1", "http://b:1/v1"))


def test_identity_ignores_the_url_and_the_creation_time():
    a = _scorer(Server(), urls=("http://a:1/v1",))
    b = _scorer(Server(models={"data": [dict(MODELS["data"][0], created=99)]}), urls=("http://b:2/v1",))
    assert a.identity == b.identity and a.identity.id == "m"
    assert a.max_tokens == 0  # vLLM: echo only, nothing generated


def test_an_api_key_comes_from_the_environment(monkeypatch):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return Server()(request)

    monkeypatch.setenv("MY_KEY", "sekret")
    from promptcheck.settings import api_key

    scorer = ServedScorer(
        ["http://a:1/v1"], api_key=api_key("MY_KEY"), transport=httpx.MockTransport(handler), policy=FAST
    )
    scorer.score(PROMPTS[:1])
    assert set(seen) == {"Bearer sekret"}
    monkeypatch.delenv("PROMPTCHECK_API_KEY", raising=False)
    assert api_key() is None


def test_unreachable_server_at_load_is_a_one_line_model_error():
    with pytest.raises(ModelLoadError, match=r"cannot reach the model server at http://127.0.0.1:9/v1"):
        load_model("http://127.0.0.1:9")


def test_endpoint_list_parsing():
    assert parse_endpoints("http://a:1, http://b:2/v1/,http://a:1/v1") == ["http://a:1/v1", "http://b:2/v1"]
    with pytest.raises(ModelLoadError, match="not an http"):
        parse_endpoints("http://a:1,b:2")


def test_local_only_options_are_refused_for_a_served_model():
    with pytest.raises(ModelLoadError, match="apply to local models"):
        load_model("http://127.0.0.1:9", adapter="x")


def test_a_bad_prompt_error_names_the_prompt_index():
    with pytest.raises(ScoringError) as info:
        _scorer(Server()).score([Prompt("Q1:", (" a",)), Prompt("", ("yes",))])
    assert info.value.field == "prompt 1" and "empty prompt" in str(info.value)

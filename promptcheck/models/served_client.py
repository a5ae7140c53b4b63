"""Many completion requests in flight against one or more OpenAI-compatible servers.

The served backend (:mod:`promptcheck.models.served`) turns prompts into requests; this
module only moves them: one shared queue, a fixed number of workers per endpoint (so a fast
replica simply takes more work than a slow one: spread by queue, not by a fixed split),
retries with exponential backoff on 429, 5xx, timeouts and dropped connections, and an
endpoint given up on after its retries hands its request back to the queue for the others.
Every request is answered exactly once or the whole call fails with one
:class:`~promptcheck.errors.ScoringError` naming the endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from promptcheck.errors import ScoringError

log = logging.getLogger("promptcheck.served")

#: Statuses worth another try: the server is overloaded, restarting or behind a proxy that is.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request before giving up on an endpoint.

    Waits ``backoff * 2**k`` seconds (capped at ``max_backoff``, with up to 25% jitter) before
    try ``k + 1``; a 429's ``Retry-After`` header is honoured within the same cap. The
    defaults ride out a ~30 s server restart; tests use small values.
    """

    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 16.0
    timeout: float = 120.0

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        base = min(self.max_backoff, self.backoff * (2**attempt))
        if retry_after is not None:
            base = min(self.max_backoff, max(base, retry_after))
        return base * (1 + 0.25 * random.random())


@dataclass
class Endpoint:
    """One server (``http://host:port/v1``) and its client; ``dead`` after its retries ran out."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    dead: str | None = None  # why it was given up on (in the current call)
    answered: int = 0  # requests this endpoint answered, over the scorer's life (for benchmarks and tests)

    def endpoint(self, path: str) -> str:
        return self.url.rstrip("/") + "/" + path.lstrip("/")


class RequestFailed(Exception):
    """A request the server refused for good (4xx other than 429): retrying will not help."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"{url} answered {status}: {detail}")
        self.url, self.status, self.detail = url, status, detail


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)[:300]
        return str(err)[:300]
    return str(body)[:300]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}: {_detail(exc.response)}"
    if isinstance(exc, httpx.TransportError):
        return f"connection lost ({type(exc).__name__})"
    return str(exc)


async def post_json(
    client: httpx.AsyncClient, endpoint: Endpoint, path: str, payload: dict[str, Any], policy: RetryPolicy
) -> dict[str, Any]:
    """POST with retries; raises :class:`RequestFailed` (for good) or the last transport error."""
    url = endpoint.endpoint(path)
    last: BaseException | None = None
    for attempt in range(policy.retries + 1):
        retry_after: float | None = None
        try:
            response = await client.post(url, json=payload, headers=endpoint.headers, timeout=policy.timeout)
            if response.status_code < 400:
                return response.json()
            if response.status_code not in RETRY_STATUSES:
                raise RequestFailed(endpoint.url, response.status_code, _detail(response))
            last = httpx.HTTPStatusError("retryable status", request=response.request, response=response)
            header = response.headers.get("retry-after")
            if header and header.replace(".", "", 1).isdigit():
                retry_after = float(header)
        except httpx.TransportError as exc:  # connect errors, timeouts, dropped connections
            last = exc
        if attempt < policy.retries:
            delay = policy.wait(attempt, retry_after)
            log.info("%s: %s; retry %d of %d in %.1f s", url, _reason(last), attempt + 1, policy.retries, delay)
            await asyncio.sleep(delay)
    assert last is not None
    raise last


async def get_json(client: httpx.AsyncClient, endpoint: Endpoint, path: str, policy: RetryPolicy) -> Any:
    """GET without retries (used once, at start-up, where failing fast is kinder)."""
    response = await client.get(endpoint.endpoint(path), headers=endpoint.headers, timeout=policy.timeout)
    if response.status_code >= 400:
        raise RequestFailed(endpoint.url, response.status_code, _detail(response))
    return response.json()


#: ``on_result(index, body, endpoint_url)``
Handler = Callable[[int, dict[str, Any], str], None]


async def run_requests(
    payloads: Sequence[dict[str, Any]],
    endpoints: Sequence[Endpoint],
    *,
    path: str,
    on_result: Handler,
    max_concurrency: int,
    policy: RetryPolicy,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """POST every payload to ``path`` on some endpoint; ``on_result(i, body, url)`` once per payload.

    ``max_concurrency`` requests are in flight per endpoint. An endpoint whose retries run
    out is marked dead and its request goes back on the queue; when every endpoint is dead
    the call fails with a :class:`ScoringError` naming them. ``on_result`` raising stops
    everything (a malformed answer is not retried: the server would answer the same).
    """
    for e in endpoints:
        e.dead = None  # a new call tries every endpoint again: a restarted server is welcome back
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(payloads)):
        queue.put_nowait(i)
    remaining = len(payloads)
    all_done = asyncio.Event()
    if remaining == 0:
        return
    failure: list[BaseException] = []

    async def worker(endpoint: Endpoint, client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while not all_done.is_set() and endpoint.dead is None:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                # Not done yet: a worker of a failing endpoint may still hand its item back.
                await asyncio.sleep(0.05)
                continue
            try:
                body = await post_json(client, endpoint, path, payloads[i], policy)
            except RequestFailed as exc:
                failure.append(ScoringError(f"{exc.url} refused a request ({exc.status}): {exc.detail}", field="model"))
                all_done.set()
                return
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                if endpoint.dead is None:
                    endpoint.dead = _reason(exc)
                    log.warning(
                        "%s: giving up on this endpoint after %d tries (%s)",
                        endpoint.url,
                        policy.retries + 1,
                        endpoint.dead,
                    )
                queue.put_nowait(i)  # another endpoint may still answer it
                if all(e.dead is not None for e in endpoints):
                    all_done.set()
                return
            try:
                on_result(i, body, endpoint.url)
            except BaseException as exc:
                failure.append(exc)
                all_done.set()
                return
            endpoint.answered += 1
            remaining -= 1
            if remaining == 0:
                all_done.set()

    limits = httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency)
    clients = [httpx.AsyncClient(limits=limits, transport=transport, trust_env=False) for _ in endpoints]
    try:
        tasks = [
            asyncio.create_task(worker(e, c))
            for e, c in zip(endpoints, clients)
            for _ in range(max(1, max_concurrency))
        ]
        waiter = asyncio.create_task(all_done.wait())
        pending: set[asyncio.Task[Any]] = set(tasks)
        try:
            while pending and not all_done.is_set():
                finished, pending = await asyncio.wait([waiter, *pending], return_when=asyncio.FIRST_COMPLETED)
                pending.discard(waiter)
                for t in finished:
                    if t is not waiter and t.exception() is not None:
                        raise t.exception()  # type: ignore[misc]  # a bug in a worker: surface it
        finally:
            for t in [waiter, *tasks]:
                t.cancel()  # a worker still waiting on a dying server need not finish its retries
            await asyncio.gather(waiter, *tasks, return_exceptions=True)
    finally:
        for c in clients:
            await c.aclose()
    if failure:
        raise failure[0]
    if remaining:
        dead = "; ".join(f"{e.url} ({e.dead})" for e in endpoints)
        raise ScoringError(
            f"the model server stopped answering after {policy.retries + 1} tries: {dead}; "
            f"{remaining} of {len(payloads)} requests unanswered",
            field="model",
        )


def run_sync(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to completion from sync code, even when the caller is inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # a notebook's loop is running: use a fresh one elsewhere
        return pool.submit(lambda: asyncio.run(make())).result()  # type: ignore[arg-type]

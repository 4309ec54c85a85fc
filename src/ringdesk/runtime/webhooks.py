"""The webhooks' delivery worker: POSTs the outbox's deliveries (store/webhooks.py), in order
per webhook, signed, retried with backoff; never in a call's way.

One asyncio task, started and stopped by the Runtime. It looks at each enabled webhook's
oldest pending delivery: a due one is sent by a task of that webhook (at most one at a time
per webhook, so a webhook's deliveries arrive in the order of their events, and a slow or
dead receiver holds up only its own). The database work runs in the default executor, off
the event loop. A commit that queued deliveries wakes it (`poke`); it also looks every
POLL seconds and prunes the week-old log every PRUNE_EVERY seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from typing import TypeVar

import httpx

from ringdesk.store import webhooks as store
from ringdesk.store.unit import Db

log = logging.getLogger(__name__)
TIMEOUT = 10.0  # seconds for a receiver to answer
POLL = 30.0  # seconds between looks when nothing wakes the worker
PRUNE_EVERY = 3600.0
T = TypeVar("T")


class WebhookWorker:
    def __init__(
        self,
        db: Callable[[], AbstractContextManager[Db]],
        outbox: store.Outbox,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self.outbox = outbox
        self._clock = clock
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: dict[int, asyncio.Task[None]] = {}  # webhook id -> its delivery
        self._client: httpx.AsyncClient | None = None
        self._pruned = 0.0
        self._held: dict[int, float] = {}  # webhook id -> until when, after an error of ours
        outbox.on_written = self.poke

    def poke(self) -> None:
        """New deliveries are queued (from the loop or from a web worker thread)."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    def refresh(self) -> None:
        """An admin changed the webhooks: read their subscriptions again, look at once."""
        with self._db() as db:
            self.outbox.refresh(db)
        self.poke()

    async def _run_db(self, work: Callable[[Db], T]) -> T:
        def job() -> T:
            with self._db() as db:
                return work(db)

        return await asyncio.get_running_loop().run_in_executor(None, job)

    async def run(self) -> None:
        """The task the runtime runs until it is cancelled."""
        self._loop = asyncio.get_running_loop()
        self._client = httpx.AsyncClient(
            timeout=TIMEOUT,
            follow_redirects=False,
            headers={"User-Agent": "Ringdesk-Webhooks/1"},
        )
        try:
            while True:
                self._wake.clear()
                wait = POLL
                try:
                    wait = await self._look()
                except Exception:
                    log.exception("webhooks: looking for deliveries failed")
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.05))
        finally:
            for task in self._sending.values():
                task.cancel()
            for task in list(self._sending.values()):
                with suppress(asyncio.CancelledError, Exception):
                    await task
            await self._client.aclose()

    async def _look(self) -> float:
        """Start the due deliveries; the seconds until the next one is due."""
        now = self._clock()
        if now - self._pruned >= PRUNE_EVERY:
            self._pruned = now
            pruned = await self._run_db(lambda db: store.prune(db, now=now))
            if pruned:
                log.info("webhooks: %d deliveries older than a week pruned", pruned)
        # A webhook busy when the query starts may finish meanwhile: its head as read may be
        # the delivery just sent. It is left for the next look (its end wakes the worker).
        busy = set(self._sending)
        heads = await self._run_db(store.heads)
        wait = POLL
        now = self._clock()
        for due in heads:
            if due.webhook_id in busy or due.webhook_id in self._sending:
                continue
            held = self._held.get(due.webhook_id, 0.0)
            if held > now:
                wait = min(wait, held - now)
            elif due.next_try_at <= now:
                task = asyncio.create_task(self._send(due), name=f"webhook-{due.webhook_id}")
                self._sending[due.webhook_id] = task
            else:
                wait = min(wait, due.next_try_at - now)
        return wait

    async def _send(self, due: store.Due) -> None:
        try:
            status_code, error = await self._post(due)
            now = self._clock()
            result = await self._run_db(
                lambda db: store.mark(
                    db, due=due, status_code=status_code, error=error, now=now, rand=random.random
                )
            )
            if result == "failed":
                log.warning(
                    "webhook %s: delivery %s given up after %d attempts (%s)",
                    due.webhook_id,
                    due.delivery_id,
                    due.attempts + 1,
                    error or status_code,
                )
        except Exception:
            # Ours (the database, most likely), not the receiver's: the delivery stays at the
            # head of its queue; hold the webhook a while rather than resend it at once.
            log.exception("webhook %s: delivery %s", due.webhook_id, due.delivery_id)
            self._held[due.webhook_id] = self._clock() + store.FIRST_RETRY
        finally:
            self._sending.pop(due.webhook_id, None)
            self._wake.set()  # its next delivery may be due now

    async def _post(self, due: store.Due) -> tuple[int | None, str | None]:
        """One attempt: (HTTP status, None) or (status or None, what went wrong)."""
        assert self._client is not None
        content = due.payload.encode()
        stamp = int(self._clock())
        headers = dict(_headers(due, stamp, content))
        try:
            # The whole attempt within TIMEOUT (httpx's own bounds each read, not the sum); the
            # answer's body is never read: only its status counts.
            async with asyncio.timeout(TIMEOUT):
                request = self._client.build_request(
                    "POST", due.url, content=content, headers=headers
                )
                response = await self._client.send(request, stream=True)
                await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return None, f"no answer within {TIMEOUT:.0f} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
        if 200 <= response.status_code < 300:
            return response.status_code, None
        reason = response.reason_phrase or ""
        location = response.headers.get("location")
        if location and response.is_redirect:
            reason = f"redirect to {location} (not followed)"
        return response.status_code, f"HTTP {response.status_code} {reason}".strip()


def _headers(due: store.Due, stamp: int, content: bytes) -> Iterator[tuple[str, str]]:
    yield "Content-Type", "application/json"
    yield "Ringdesk-Event", due.event
    yield "Ringdesk-Delivery", str(due.delivery_id)
    yield "Ringdesk-Timestamp", str(stamp)
    yield "Ringdesk-Signature", store.sign(due.secret, stamp, content)

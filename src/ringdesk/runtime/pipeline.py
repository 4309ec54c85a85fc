"""The one path every input takes: decide (engine) -> commit (store) -> publish (feeds) -> act
(switch).

Committing before publishing means nobody is told of a change a crash could lose; acting last
means the switch never acts on a decision the database does not have. The parts are passed in,
so a unit test builds a pipeline with an in-memory engine, a fake store, feeds and switch and
an explicit clock.

The switch's reports are queued and drained on the next loop tick in batches: each report is
decided in turn, then the whole batch is committed in one transaction, published once, and its
actions executed in the order they were decided. Reports that arrive while a batch is acted on
(the switch may report at once) join the next batch, so the engine is never re-entered.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ringdesk.core.commands import Command
from ringdesk.core.engine import Engine, Outcome
from ringdesk.core.errors import CoreError
from ringdesk.core.events import DomainEvent
from ringdesk.core.telephony import TelephonyAction, TelephonyEvent
from ringdesk.store.recorder import Recorded

log = logging.getLogger(__name__)
BATCH_LIMIT = 200  # switch reports decided before one commit; bounds the feed latency


class Store(Protocol):
    def commit(
        self, writes: Sequence[Sequence[DomainEvent]], *, raise_errors: bool
    ) -> Recorded: ...


class Publisher(Protocol):
    def publish_recorded(self, recorded: Recorded) -> None: ...


class Actor(Protocol):
    def execute(self, action: TelephonyAction) -> None: ...


@dataclass(slots=True)
class _Decided:
    outcome: Outcome
    also_agents: frozenset[int]  # agents to republish even if no event names them


class Pipeline:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        feeds: Publisher,
        switch: Actor,
        *,
        clock: Callable[[], float],
        call_soon: Callable[[Callable[[], None]], object],
        on_applied: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self._store = store
        self._feeds = feeds
        self._switch = switch
        self._clock = clock
        self._call_soon = call_soon
        self._on_applied = on_applied  # e.g. wake the timer loop: a deadline may have moved
        self._inbox: deque[TelephonyEvent] = deque()
        self._draining = False

    # ---- inputs -------------------------------------------------------------------------------
    def command(self, command: Command) -> None:
        """An agent's action. Raises CoreError (nothing changed) or applies the outcome; a
        failing commit raises too, so the agent is told."""
        outcome = self.engine.handle(command, self._clock())
        self._finish([_Decided(outcome, frozenset())], raise_errors=True)

    def report(self, event: TelephonyEvent) -> None:
        """A switch event: queued, and decided on the next tick with the others of its batch."""
        self._inbox.append(event)
        if not self._draining:
            self._draining = True
            self._call_soon(self._drain)

    def timers(self) -> None:
        """Deadlines that are due (pickup, connect, wrap-up, maximum wait)."""
        self._finish([_Decided(self.engine.on_timer(self._clock()), frozenset())], False)

    def reconfigure(
        self,
        change: Callable[[Engine, float], list[Outcome]],
        also_agents: frozenset[int] = frozenset(),
    ) -> None:
        """An admin's change, applied by the engine and then like any other input."""
        outcomes = change(self.engine, self._clock())
        decided = [_Decided(o, frozenset()) for o in outcomes]
        decided.append(_Decided(Outcome(), also_agents))
        self._finish(decided, raise_errors=True)

    def next_deadline(self) -> float | None:
        return self.engine.next_deadline()

    # ---- batches ------------------------------------------------------------------------------
    def _drain(self) -> None:
        try:
            while self._inbox:
                batch: list[_Decided] = []
                for _ in range(min(BATCH_LIMIT, len(self._inbox))):
                    event = self._inbox.popleft()
                    try:
                        outcome = self.engine.on_telephony(event, self._clock())
                    except CoreError as exc:
                        log.warning("switch event %r refused: %s", event, exc.message)
                        continue
                    except Exception:
                        log.exception("switch event %r failed", event)
                        continue
                    batch.append(_Decided(outcome, frozenset()))
                if batch:
                    self._finish(batch, raise_errors=False)
        finally:
            self._draining = False

    def _finish(self, decided: list[_Decided], raise_errors: bool) -> None:
        """Commit the outcomes' events, publish them, then execute their actions in order."""
        writes = [d.outcome.events for d in decided if d.outcome.events]
        recorded = self._store.commit(writes, raise_errors=raise_errors)
        for d in decided:
            recorded.agents |= d.also_agents
        self._feeds.publish_recorded(recorded)
        # The engine has decided: its telephony actions go out even if a write failed (logged
        # by the store), or calls would hang on a switch that no longer matches the engine.
        for d in decided:
            for action in d.outcome.actions:
                try:
                    self._switch.execute(action)
                except Exception:
                    # One failing leg must not stop the other actions.
                    log.exception("switch failed to execute %r", action)
        self._on_applied()

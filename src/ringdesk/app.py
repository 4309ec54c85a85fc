"""The runtime: one asyncio loop holding the engine, the store, the switch and the feeds.

Every input (an agent's command, a switch event, a timer) goes the same way:
engine decides -> store commits -> feeds publish -> switch executes the telephony actions.
Committing before publishing means nobody is told of a change a crash could lose; executing
last means the switch never acts on a decision the database does not have.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ringdesk.config import Settings
from ringdesk.core.commands import Command
from ringdesk.core.engine import Engine, Outcome
from ringdesk.core.errors import CoreError
from ringdesk.core.model import AgentConfig, AgentStatus
from ringdesk.core.telephony import TelephonyAction, TelephonyEvent
from ringdesk.store import loaders
from ringdesk.store import models as m
from ringdesk.store.db import make_engine, make_sessionmaker
from ringdesk.store.directory import StoreDirectory
from ringdesk.store.recorder import Recorded, Recorder
from ringdesk.store.sounds import Sounds
from ringdesk.web.feed import Feeds
from ringdesk.web.sessions import SessionCache

log = logging.getLogger(__name__)
BATCH_LIMIT = 200  # switch reports decided before one commit; bounds the feed latency


class Unavailable(CoreError):
    """A part of the server (engine or switch) is not running."""

    code = "unavailable"
    http_status = 503


class NullSwitch:
    """Stands in when the SIP switch cannot be started; it says so in /healthz and the log."""

    local_port = 0

    def execute(self, action: TelephonyAction) -> None:
        log.error("no SIP switch: dropped %r", action)

    def is_registered(self, cti_id: str) -> bool:
        return False

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db_engine = make_engine(settings.effective_database_url)
        self.sessions = make_sessionmaker(self.db_engine)
        self.sounds = Sounds(settings.data_dir)
        self.directory = StoreDirectory(self._registration_changed)
        self.recorder = Recorder()
        self.feeds = Feeds(self)
        self.switch: Any = NullSwitch()
        self.switch_ok = False
        self._engine: Engine | None = None
        self._inbox: deque[Callable[[], None]] = deque()
        self._draining = False
        self._batch: list[tuple[Outcome, set[int] | None]] | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.logins = SessionCache()
        self.service_names: dict[int, str] = {}
        self.cti_ids: dict[int, str] = {}  # agent id -> CTI ID, for phone_registered
        self.cti_numbers: dict[int, str] = {}
        self.pickup_seconds = 20.0
        self.clock = time.time
        self.http_port = settings.http_port  # the bound port, set by the CLI (may differ if 0)

    # ---- lifecycle ----------------------------------------------------------------------------
    @contextmanager
    def db(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise Unavailable("The call engine is not running.")
        return self._engine

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.sounds.ensure_defaults()
        now = time.time()
        with self.db() as db:
            row = loaders.settings_row(db)
            self._refresh_caches(db)
            try:
                self._engine = Engine(
                    loaders.cti_settings(row), loaders.services(db), loaders.agents(db)
                )
            except NotImplementedError:
                log.error("ringdesk.core.engine.Engine is not implemented: CTI is unavailable")
            self._recover(db, now)
        await self._start_switch()
        self._tasks.append(asyncio.create_task(self._timer_loop(), name="engine-timer"))
        self.feeds.start()
        # What start-up loaded (modules, engine, sounds) lives as long as the process: keep it
        # out of the collector's generations so collections under call load stay short.
        gc.freeze()
        self._write_ports()

    def _write_ports(self) -> None:
        """Tell whoever started us (tests, scripts) which ports we really got."""
        info = {
            "http_host": self.settings.http_host,
            "http_port": self.http_port,
            "sip_host": self.settings.sip_host,
            "sip_port": int(getattr(self.switch, "local_port", 0) or self.settings.sip_port),
            "pid": os.getpid(),
        }
        path = self.settings.data_dir / "server.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(path)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        await self.feeds.stop()
        await self.switch.stop()
        self.db_engine.dispose()

    async def _start_switch(self) -> None:
        try:
            from ringdesk.switch import Switch
        except ImportError:
            log.error("ringdesk.switch.Switch is missing: running without a SIP switch")
            return
        switch = Switch(
            self.settings.sip_host,
            self.settings.sip_port,
            directory=self.directory,
            sink=self._sink,
            data_dir=self.settings.data_dir,
        )
        await switch.start()
        self.switch = switch
        self.switch_ok = True
        log.info("SIP switch on %s:%s", self.settings.sip_host, switch.local_port)

    def _resume_wrap_up(self, db: Session, agent_id: int) -> None:
        """An agent restored in Ticket Processing: their wrap-up time still counts from the end
        of their last call, so the statistics do not lose it across the restart."""
        last = db.execute(
            select(m.CallRecord.id, m.CallRecord.ended_at)
            .where(
                m.CallRecord.agent_id == agent_id,
                m.CallRecord.connected_at.is_not(None),
                m.CallRecord.ended_at.is_not(None),
                m.CallRecord.wrap_up_seconds.is_(None),
            )
            .order_by(m.CallRecord.ended_at.desc())
            .limit(1)
        ).first()
        if last is not None:
            self.recorder.resume_wrap_up(agent_id, last.id, last.ended_at)

    def _recover(self, db: Session, now: float) -> None:
        """After a restart: agents back in their chosen status, live calls closed."""
        logged_in = select(m.AgentStateRow).where(m.AgentStateRow.logged_in.is_(True))
        for row in db.scalars(logged_in):
            if self._engine is None:
                continue
            # Ticket Processing survives a restart as itself; other driven statuses (the call
            # is gone) fall back to the agent's choice, which is what the engine expects.
            wrapping = row.status == AgentStatus.TICKET_PROCESSING
            try:
                self._engine.restore_agent(
                    row.user_id, row.status if wrapping else row.chosen, row.since
                )
                view = self._engine.agent(row.user_id)
            except CoreError as exc:
                log.warning("agent %s not restored: %s", row.user_id, exc.message)
                continue
            if view.status == AgentStatus.TICKET_PROCESSING:
                self._resume_wrap_up(db, row.user_id)
            if view.status != row.status:
                row.since = view.since
            row.status = view.status
            row.chosen = view.chosen
            row.logged_in = view.status != AgentStatus.LOGGED_OUT
        open_calls = db.scalars(select(m.CallRecord).where(m.CallRecord.ended_at.is_(None))).all()
        for record in open_calls:
            record.ended_at = now
            record.outcome = "interrupted"
            record.ended_by = "system"
            if record.connected_at is not None:
                record.talk_seconds = max(0.0, now - record.connected_at)
            if record.ticket_id is not None:
                ticket = db.get(m.Ticket, record.ticket_id)
                if ticket is not None:
                    ticket.ended_at = now
                    ticket.outcome = "interrupted"
                    ticket.duration_seconds = record.talk_seconds
                    db.add(
                        m.TicketEvent(
                            ticket_id=ticket.id,
                            at=now,
                            kind="interrupted",
                            detail="Call interrupted: the server restarted",
                        )
                    )
        db.commit()

    def _refresh_caches(self, db: Session) -> None:
        self.directory.refresh(db, self.sounds.paths(db))
        self.service_names = {s.id: s.name for s in db.scalars(select(m.Service))}
        ctis = db.scalars(select(m.CtiAgent)).all()
        self.cti_ids = {c.user_id: c.cti_id for c in ctis}
        self.cti_numbers = {c.user_id: c.cti_number for c in ctis}
        self.pickup_seconds = loaders.settings_row(db).pickup_seconds

    def health(self) -> dict[str, str]:
        try:
            with self.db() as db:
                db.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # any driver error means the database is not usable
            log.exception("health check: database")
            database = "error"
        switch = "ok" if self.switch_ok else "unavailable"
        engine = "ok" if self._engine is not None else "unavailable"
        ok = database == "ok" and switch == "ok" and engine == "ok"
        return {
            "status": "ok" if ok else "degraded",
            "database": database,
            "switch": switch,
            "engine": engine,
        }

    # ---- inputs -------------------------------------------------------------------------------
    def command(self, command: Command) -> None:
        """An agent's action. Raises CoreError (nothing changed) or applies the outcome."""
        outcome = self.engine.handle(command, time.time())
        self._apply(outcome)

    def _sink(self, event: TelephonyEvent) -> None:
        self._defer(lambda: self._on_telephony(event))

    def _registration_changed(self, cti_id: str, registered: bool) -> None:
        self._defer(lambda: self._on_registration(cti_id, registered))

    def _defer(self, job: Callable[[], None]) -> None:
        # The switch may report while it executes our actions; queue and run on the next tick
        # so one input is fully applied (decided, stored, published) before the next starts.
        self._inbox.append(job)
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        # The switch's reports that arrived together are decided one by one, then stored in one
        # transaction, published, and acted on: one commit per batch instead of one per report.
        try:
            while self._inbox:
                batch: list[tuple[Outcome, set[int] | None]] = []
                self._batch = batch
                try:
                    for _ in range(BATCH_LIMIT):
                        if not self._inbox:
                            break
                        job = self._inbox.popleft()
                        try:
                            job()
                        except Exception:
                            log.exception("switch input failed")
                finally:
                    self._batch = None
                if batch:
                    self._finish(batch, raise_errors=False)
        finally:
            self._draining = False

    def _on_telephony(self, event: TelephonyEvent) -> None:
        try:
            outcome = self.engine.on_telephony(event, time.time())
        except CoreError as exc:
            log.warning("switch event %r refused: %s", event, exc.message)
            return
        self._apply(outcome)

    def _on_registration(self, cti_id: str, registered: bool) -> None:
        agent_id = self.directory.agent_id(cti_id)
        if agent_id is None or self._engine is None:
            return
        try:
            outcome = self._engine.set_phone_reachable(agent_id, registered, time.time())
        except CoreError as exc:
            log.warning("registration of %s: %s", cti_id, exc.message)
            return
        self._apply(outcome, also_agents={agent_id})

    async def _timer_loop(self) -> None:
        while True:
            deadline = self._engine.next_deadline() if self._engine is not None else None
            delay = 3600.0 if deadline is None else max(0.0, deadline - time.time())
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
                continue  # an input may have moved the deadline: recompute it
            except TimeoutError:
                pass
            if self._engine is None:
                continue
            try:
                self._apply(self._engine.on_timer(time.time()))
            except Exception:
                log.exception("engine timer failed")

    # ---- the one path every outcome takes -----------------------------------------------------
    def _apply(self, outcome: Outcome, also_agents: set[int] | None = None) -> None:
        if self._batch is not None:
            self._batch.append((outcome, also_agents))
        else:
            self._finish([(outcome, also_agents)], raise_errors=True)

    def _finish(
        self, outcomes: list[tuple[Outcome, set[int] | None]], *, raise_errors: bool
    ) -> None:
        """Commit the outcomes' events, publish them, then execute their actions in order."""
        writes = [outcome.events for outcome, _ in outcomes if outcome.events]
        recorded = Recorded()
        if writes:
            try:
                with self.db_engine.begin() as conn:
                    for events in writes:
                        recorded.merge(self.recorder.apply(conn, list(events)))
            except Exception:
                self.recorder.forget()  # ids of rows that were rolled back
                if raise_errors:
                    raise
                log.exception("storing %d outcomes failed; storing them one by one", len(writes))
                recorded = self._store_one_by_one(writes)
        for _, also in outcomes:
            if also:
                recorded.agents |= also
        self.feeds.publish_recorded(recorded)
        # The engine has decided: its telephony actions go out even if a write failed (logged
        # above), or calls would hang on a switch that no longer matches the engine.
        for outcome, _ in outcomes:
            for action in outcome.actions:
                try:
                    self.switch.execute(action)
                except Exception:
                    # One failing leg must not stop the other actions.
                    log.exception("switch failed to execute %r", action)
        self._wake.set()

    def _store_one_by_one(self, writes: list[list[Any]]) -> Recorded:
        recorded = Recorded()
        for events in writes:
            try:
                with self.db_engine.begin() as conn:
                    recorded.merge(self.recorder.apply(conn, list(events)))
            except Exception:
                self.recorder.forget()
                log.exception("lost the record of %r", events)
        return recorded

    # ---- configuration changes from the admin pages --------------------------------------------
    def reload_settings(self) -> None:
        with self.db() as db:
            row = loaders.settings_row(db)
            self._refresh_caches(db)
            if self._engine is not None:
                self._apply(self._engine.update_settings(loaders.cti_settings(row), time.time()))

    def reload_service(self, service_id: int) -> None:
        with self.db() as db:
            self._refresh_caches(db)
            service = db.get(m.Service, service_id)
            if service is not None and self._engine is not None:
                config = loaders.service_config(db, service)
                self._apply(self._engine.upsert_service(config, time.time()))

    def reload_agent(self, user_id: int) -> None:
        self.recorder.forget_names()
        with self.db() as db:
            self._refresh_caches(db)
            user = db.get(m.User, user_id)
            if user is not None and self._engine is not None:
                config = loaders.agent_config(db, user)
                self._apply(self._engine.upsert_agent(config, time.time()), {user_id})

    def reload_agent_removed(self, user_id: int) -> None:
        """A deleted user: the engine keeps the id but it can no longer log in or be offered."""
        self.recorder.forget_names()
        with self.db() as db:
            self._refresh_caches(db)
        if self._engine is not None:
            config = AgentConfig(id=user_id, name="", cti_id=None, cti_number=None)
            self._apply(self._engine.upsert_agent(config, time.time()))

    def forget_sessions(self, user_id: int) -> None:
        self.logins.drop_user(user_id)

    def phone_registered(self, agent_id: int) -> bool:
        cti_id = self.cti_ids.get(agent_id)
        return bool(cti_id) and bool(self.switch.is_registered(cti_id))

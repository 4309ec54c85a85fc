"""The runtime: builds the parts (database, configuration snapshot, engine, store writer, feeds,
SIP switch), joins them in a Pipeline, and runs the timer loop. What the web layer may use is
named here: `command`, `live`, `feeds`, `db`, `sounds`, `reload_config`, `health`,
`sip_bans`, `lift_sip_ban`, `sip_refusals`, `sip_connections`, `webhooks`."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy.orm import Session

from ringdesk.config import Settings
from ringdesk.core.commands import Command
from ringdesk.core.engine import Engine
from ringdesk.core.telephony import TelephonyEvent
from ringdesk.live.feeds import Feeds
from ringdesk.live.sources import LiveSources
from ringdesk.media.speech import Speech
from ringdesk.runtime import presence, retention
from ringdesk.runtime.directory import SnapshotDirectory
from ringdesk.runtime.pipeline import Pipeline
from ringdesk.runtime.reconfigure import changes
from ringdesk.runtime.webhooks import WebhookWorker
from ringdesk.store import recovery, snapshot
from ringdesk.store.db import make_engine, make_sessionmaker, ping
from ringdesk.store.recorder import Recorder
from ringdesk.store.secrets import load_box
from ringdesk.store.snapshot import Snapshot
from ringdesk.store.sounds import Sounds
from ringdesk.store.webhooks import Outbox
from ringdesk.store.writer import EventWriter
from ringdesk.switch import Switch
from ringdesk.switch.addresses import Addresses, parse_networks
from ringdesk.switch.gate import Ban, GateSettings
from ringdesk.switch.srtp import SrtpOffer

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secrets = load_box(settings.data_dir)
        self.db_engine = make_engine(settings.effective_database_url, self.secrets)
        self.sessions = make_sessionmaker(self.db_engine)
        self.sounds = Sounds(settings.data_dir)
        self.recorder = Recorder()
        self.outbox = Outbox()  # the webhooks' subscriptions, queued in the writer's commits
        self.writer = EventWriter(self.db_engine, self.recorder, self.outbox)
        self.webhooks = WebhookWorker(self.db, self.outbox)
        self.directory = SnapshotDirectory()
        self.config = Snapshot()
        self.clock = time.time
        self.http_port = settings.http_port  # the bound port, set by the CLI (may differ if 0)
        self.http_scheme = "http"  # "https" when the CLI serves the web over TLS
        self.sip_tls: ssl.SSLContext | None = None  # set by the CLI: SIP over TLS is on
        self.trunk_tls: ssl.SSLContext | None = None  # set by the CLI: TLS to trunks, verified
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # Built by start(), once the configuration is read and the loop runs.
        self.engine: Engine
        self.switch: Switch
        self.feeds: Feeds
        self.live: LiveSources
        self.pipeline: Pipeline

    @contextmanager
    def db(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    # ---- lifecycle ----------------------------------------------------------------------------
    def preflight(self) -> None:
        """Before serving: a secret key that cannot open the stored secrets stops the start
        here with one clear error (SecretKeyError), not inside the web server's start-up."""
        with self.db() as db:
            snapshot.check_secret_key(db)

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.sounds.ensure_defaults()
        with self.db() as db:
            self.config = snapshot.load(db, self.sounds.paths(db))
            self.directory.use(self.config)
            self.engine = Engine(
                self.config.settings.engine_settings(),
                list(self.config.services),
                list(self.config.agents),
                menus=list(self.config.menus),
            )
            self.outbox.refresh(db)
            recovery.recover(db, self.engine, self.recorder, self.clock())
        self.switch = Switch(
            self.settings.sip_host,
            self.settings.sip_port,
            directory=self.directory,
            sink=self._report,
            data_dir=self.settings.data_dir,
            gate=gate_settings(self.settings),
            media_timeout=self.settings.media_timeout or None,
            session_expires=self.settings.sip_session_expires or None,
            keepalive=self.settings.sip_keepalive or None,
            min_expires=self.settings.sip_min_expires,
            srtp=SrtpOffer(phones=self.settings.srtp_phones, trunk=self.settings.srtp_trunk),
            tls=self.sip_tls,
            tls_port=self.settings.sip_tls_port or 0,
            addresses=self.sip_addresses,
            media_addresses=self.media_addresses,
            rtp_ports=self.settings.rtp_ports,
        )
        # --dns-servers: the trunk's lookups (RFC 3263 in switch/dns.py, plain names too)
        self.switch.outbound.dns.use_servers(self.settings.dns_servers)
        self.switch.state.resolver.use_servers(self.settings.dns_servers)
        self.switch.stack.transport.client_tls = self.trunk_tls  # None: the system's CAs
        self.live = LiveSources(
            engine=self.engine,
            config=lambda: self.config,
            reads=self.db,
            clock=self.clock,
        )
        self.feeds = Feeds(self.live)
        loop = asyncio.get_running_loop()
        self.pipeline = Pipeline(
            self.engine,
            self.writer,
            self.feeds,
            self.switch,
            clock=self.clock,
            call_soon=loop.call_soon,
            on_applied=self._wake.set,
        )
        await self.switch.start()
        tls_port = self.switch.tls_port
        log.info(
            "SIP switch on %s: UDP and TCP port %s, TLS %s",
            self.settings.sip_host,
            self.switch.local_port,
            "off" if tls_port is None else f"port {tls_port}",
        )
        self._log_addresses()
        self._tasks.append(asyncio.create_task(self._timer_loop(), name="engine-timer"))
        self._tasks.append(
            asyncio.create_task(
                presence.watch(
                    lambda: self.engine,
                    self.feeds,
                    lambda: float(self.config.settings.absent_logout_seconds),
                    self.command,
                ),
                name="presence",
            )
        )
        self._tasks.append(
            asyncio.create_task(
                retention.watch(
                    self.db,
                    self.settings.data_dir,
                    lambda: self.config.settings.recording_retention_days,
                    self.clock,
                ),
                name="retention",
            )
        )
        self._tasks.append(asyncio.create_task(self.webhooks.run(), name="webhooks"))
        self.feeds.start()
        # What start-up loaded (modules, engine, sounds) lives as long as the process: keep it
        # out of the collector's generations so collections under call load stay short.
        gc.freeze()
        self._write_ports()

    @property
    def sip_addresses(self) -> Addresses:
        s = self.settings
        return Addresses(s.sip_host, s.sip_external, parse_networks(s.local_nets))

    @property
    def media_addresses(self) -> Addresses:
        s = self.settings
        return Addresses(
            s.rtp_host or s.sip_host,
            s.media_external or s.sip_external,
            parse_networks(s.local_nets),
            label="RTP",
        )

    def addresses(self) -> dict[str, object]:
        """What is bound and advertised (the start-up log and /healthz)."""
        sip, media = self.switch.state.addresses, self.switch.state.media_addresses
        return {
            "sip_bound": f"{sip.bound}:{self.switch.local_port}",
            "sip_advertised": sip.external or ("per peer" if sip.unspecified else sip.bound),
            "rtp_bound": media.bound,
            "rtp_advertised": media.external or ("per peer" if media.unspecified else media.bound),
            "rtp_ports": "{}-{}".format(*self.settings.rtp_ports),
            "local_nets": [str(n) for n in sip.local_nets],
            # what peers could not reach (addresses.unreachable), with how many peers
            "warnings": [
                f"{sentence} ({count} peer{'s' if count != 1 else ''})"
                for a in (sip, media)
                for sentence, count in a.warnings.items()
            ],
        }

    def _log_addresses(self) -> None:
        info = self.addresses()
        log.info(
            "SIP bound on %s, advertised %s; RTP bound on %s ports %s, advertised %s; "
            "local networks: %s",
            info["sip_bound"],
            info["sip_advertised"],
            info["rtp_bound"],
            info["rtp_ports"],
            info["rtp_advertised"],
            ", ".join(self.switch.state.addresses.describe()["local_nets"]) or "none",  # type: ignore[arg-type]
        )
        for addresses in (self.switch.state.addresses, self.switch.state.media_addresses):
            warning = addresses.loopback_warning()
            if warning is not None:
                log.warning("%s", warning)

    def _write_ports(self) -> None:
        """Tell whoever started us (tests, scripts) which ports we really got."""
        info = {
            "http_host": self.settings.http_host,
            "http_port": self.http_port,
            "sip_host": self.settings.sip_host,
            "sip_port": self.switch.local_port,
            "sip_tls_port": self.switch.tls_port,
            "http_scheme": self.http_scheme,
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

    def health(self) -> dict[str, object]:
        try:
            with self.db() as db:
                ping(db)
            database = "ok"
        except Exception:  # any driver error means the database is not usable
            log.exception("health check: database")
            database = "error"
        switch = "ok" if self.switch.started else "unavailable"
        ok = database == "ok" and switch == "ok"
        return {
            "status": "ok" if ok else "degraded",
            "database": database,
            "switch": switch,
            "engine": "ok",
            "addresses": self.addresses() if self.switch.started else {},
        }

    # ---- inputs -------------------------------------------------------------------------------
    def command(self, command: Command) -> None:
        """An agent's action. Raises CoreError (nothing changed) or applies the outcome."""
        self.pipeline.command(command)

    def _report(self, event: TelephonyEvent) -> None:
        self.pipeline.report(event)

    async def _timer_loop(self) -> None:
        while True:
            deadline = self.pipeline.next_deadline()
            delay = 3600.0 if deadline is None else max(0.0, deadline - self.clock())
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
                continue  # an input may have moved the deadline: recompute it
            except TimeoutError:
                pass
            try:
                self.pipeline.timers()
            except Exception:
                log.exception("engine timer failed")

    # ---- configuration changes from the admin pages --------------------------------------------
    def reload_config(self) -> None:
        """An admin saved: read the whole configuration again and tell the engine what changed."""
        with self.db() as db:
            new = snapshot.load(db, self.sounds.paths(db))
        old, self.config = self.config, new
        self.directory.use(new)
        diff = changes(old, new)
        if diff.names_changed:
            self.recorder.forget_names()
        self.pipeline.reconfigure(diff.apply, diff.agents)
        self.feeds.profiles_changed(diff.profiles)

    # ---- the SIP gate's bans, for the admin API ---------------------------------------------
    @property
    def speech(self) -> Speech:
        """The text-to-speech of the prompts (the switch's: one cache, one process limit)."""
        return self.switch.playback.speech

    def sip_bans(self) -> list[Ban]:
        return self.switch.gate.bans(time.time())

    def sip_refusals(self) -> tuple[dict[str, int], int, int]:
        """INVITEs refused at the SIP edge by reason, live inbound calls, packets the gate
        dropped: all since the start (in memory, like the bans)."""
        counts = self.switch.inbound_counts
        return dict(counts.refused), counts.total, self.switch.gate.dropped

    def lift_sip_ban(self, address: str) -> bool:
        return self.switch.gate.lift(address)

    def sip_connections(self) -> tuple[int, int, int, dict[str, int]]:
        """SIP over TCP/TLS: connections the peers have open, the limits per source and in
        all, and the connections refused or closed by a timeout since the start, by reason."""
        transport = self.switch.stack.transport
        per_source = transport.limits.conn_per_source
        return (
            transport.open_connections,
            per_source,
            transport.max_connections,
            dict(transport.counts),
        )

    def browser_phone_sockets(self) -> int:
        """The browser phones' SIP WebSockets open now."""
        return len(self.switch.stack.transport.ws_peers)

    def phone_registered(self, agent_id: int) -> bool:
        """As the engine knows it from the switch's PhoneRegistered reports."""
        return self.engine.agent(agent_id).phone_reachable


def gate_settings(settings: Settings) -> GateSettings:
    return GateSettings(
        enabled=settings.sip_gate,
        register_rate=settings.sip_rate_register,
        invite_rate=settings.sip_rate_invite,
        options_rate=settings.sip_rate_options,
        other_rate=settings.sip_rate_other,
        auth_failures=settings.sip_auth_failures,
        auth_window=settings.sip_auth_window,
        flood_excess=settings.sip_flood_excess,
        ban_seconds=settings.sip_ban_seconds,
        trusted=settings.sip_trusted,
        conn_per_source=settings.sip_conn_per_source,
        conn_total=settings.sip_conn_total,
        message_timeout=settings.sip_message_timeout,
        conn_idle=settings.sip_conn_idle,
        tls_handshake_timeout=settings.sip_tls_handshake_timeout,
        conn_strikes=settings.sip_conn_strikes,
    )

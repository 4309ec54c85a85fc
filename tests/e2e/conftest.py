"""The end-to-end rig: a real `ringdesk serve`, real SIP peers over UDP loopback, the REST API.

Each test gets its own server (SQLite in its tmp folder, free ports), so a failing call in one
test can never leave an agent busy in the next, and files can run in parallel. Every phone sends
its own recognisable signal and every customer another, so a test can tell who hears whom.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agents import AdminApi, AgentApi
from tests.support.baresip import Baresip
from tests.support.linphone import Linphonec
from tests.support.rtp import RtpEndpoint, make_signal, write_wav
from tests.support.server import RunningServer, start_server
from tests.support.sipp import CARRIER, Customer, Trunk

INBOUND = "5550100"  # the demo service's inbound number
SERVICE_ID = 1


@dataclass(frozen=True, slots=True)
class DemoAgent:
    username: str
    password: str
    cti_id: str
    phone_password: str
    seed: int  # of the signal this agent's phone sends


AGENTS = {
    "alice": DemoAgent("alice", "alice-demo", "1001", "phone1001-demo", 101),
    "bob": DemoAgent("bob", "bob-demo", "1002", "phone1002-demo", 102),
    "carol": DemoAgent("carol", "carol-demo", "1003", "phone1003-demo", 103),
}
PHONE_SECONDS = 120.0  # longer than any test's call: baresip's file source stops at its end


@pytest.fixture(scope="session")
def signals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[int]]]:
    """One WAV per agent phone and one for customers, each a distinct signal."""
    folder = tmp_path_factory.mktemp("signals")
    out: dict[str, tuple[Path, list[int]]] = {}
    for name, agent in AGENTS.items():
        samples = make_signal(PHONE_SECONDS, seed=agent.seed)
        out[name] = (write_wav(folder / f"{name}.wav", samples), samples)
    customer = make_signal(60.0, seed=201)
    out["customer"] = (write_wav(folder / "customer.wav", customer), customer)
    return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[FAILED] = report.failed


FAILED = pytest.StashKey[bool]()


class Rig:
    """Everything one end-to-end test talks to; closes it all in reverse order."""

    def __init__(
        self, server: RunningServer, tmp: Path, signals: dict[str, tuple[Path, list[int]]]
    ) -> None:
        self.server = server
        self.tmp = tmp
        self.signals = signals
        self._admin: AdminApi | None = None
        self._agents: dict[str, AgentApi] = {}
        self._closers: list[Any] = []

    @property
    def switch(self) -> tuple[str, int]:
        return (self.server.sip_host, self.server.sip_port)

    def admin(self) -> AdminApi:
        if self._admin is None:
            self._admin = AdminApi(self.server, "admin", "admin-demo")
            self._closers.append(self._admin.close)
        return self._admin

    def agent(self, name: str) -> AgentApi:
        if name not in self._agents:
            demo = AGENTS[name]
            api = AgentApi(self.server, demo.username, demo.password)
            self._agents[name] = api
            self._closers.append(api.close)
        return self._agents[name]

    def signal(self, name: str) -> list[int]:
        return self.signals[name][1]

    def phone(
        self,
        name: str,
        *,
        answermode: str = "auto",
        register: bool = True,
        tls: bool = False,
        sip_trace: bool = False,
        regint: int = 60,
        source_wav: Path | None = None,
    ) -> Baresip:
        """The agent's desk phone (baresip), sending the agent's signal (or `source_wav`),
        registered; with `tls`, over TLS to the switch's TLS port, trusting the server's own
        certificate."""
        demo = AGENTS[name]
        tls_port = self.server.sip_tls_port
        if tls:
            assert tls_port is not None, "the server has no SIP over TLS"
        phone = Baresip(
            self.tmp,
            user=demo.cti_id,
            password=demo.phone_password,
            registrar=(self.server.sip_host, tls_port) if tls and tls_port else self.switch,
            source_wav=source_wav or self.signals[name][0],
            answermode=answermode,
            name=f"phone-{name}",
            transport="tls" if tls else "udp",
            cafile=self.server.tls_cert if tls else None,
            # Over TLS the switch offers SRTP to phones (SDES keys are private there).
            mediaenc="srtp" if tls else None,
            sip_trace=sip_trace,
            regint=regint,
        )
        self._closers.append(phone.stop)
        phone.start()
        if register:
            phone.wait_registered()
        return phone

    def customer(
        self, *, number: str = INBOUND, caller: str = "5551234", send: bool = True
    ) -> tuple[Customer, RtpEndpoint]:
        """A customer calling `number` from SIPp; its RTP is ours, sending the customer signal
        to the switch (symmetric: to wherever the switch's RTP comes from, or its SDP)."""
        rtp = RtpEndpoint()
        self._closers.append(rtp.close)
        customer = Customer(self.tmp, self.switch, number, caller=caller, rtp_port=rtp.port)
        self._closers.append(customer.stop)
        customer.start()
        if send:
            rtp.send_samples(self.signal("customer"))
        return customer, rtp

    def sipp_customer(self, **options: Any) -> Customer:
        """A customer whose media SIPp handles itself (pcap, echo) or over TCP; started."""
        customer = Customer(self.tmp, self.switch, options.pop("number", INBOUND), **options)
        self._closers.append(customer.stop)
        return customer.start()

    def linphone(self, name: str) -> Linphonec:
        """The agent's phone as linphonec instead of baresip; started and registered."""
        demo = AGENTS[name]
        phone = Linphonec(
            self.tmp,
            user=demo.cti_id,
            password=demo.phone_password,
            registrar=self.switch,
            source_wav=self.signals[name][0],
        )
        self._closers.append(phone.stop)
        phone.start()
        phone.wait_registered()
        return phone

    def aim(self, customer: Customer, rtp: RtpEndpoint) -> None:
        """Send our RTP to the address in the switch's latest SDP (rather than latching)."""
        media = customer.media()
        rtp.remote = (media.host, media.port)

    def trunk(self, behaviour: str = "answer", **kwargs: Any) -> tuple[Trunk, RtpEndpoint]:
        """A SIPp trunk on a free port, and the demo's trunk pointed at it."""
        rtp = RtpEndpoint()
        self._closers.append(rtp.close)
        trunk = Trunk(self.tmp, behaviour, rtp_port=rtp.port, **kwargs)
        self._closers.append(trunk.stop)
        trunk.start()
        self.admin().update_trunk(host="127.0.0.1", port=trunk.port)
        return trunk, rtp

    def connect_inbound(self, agent: str) -> tuple[Customer, RtpEndpoint, dict[str, Any]]:
        """The common start: `agent` (phone registered, Ready) answers a customer's call."""
        api = self.agent(agent)
        customer, rtp = self.customer()
        offer = api.wait_offer()
        api.answer(offer["call_id"])
        customer.wait_answered()
        self.aim(customer, rtp)
        call = api.wait_talking()
        return customer, rtp, call

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception as exc:  # teardown must go on; the test's own failure matters
                print(f"teardown: {closer!r} failed: {exc!r}")


@contextmanager
def running_rig(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    signals: dict[str, tuple[Path, list[int]]],
    serve_args: Sequence[str] = (),
) -> Iterator[Rig]:
    """A server started with `serve_args` and the rig around it; the server's log is printed
    when the test failed."""
    server = start_server(tmp_path, serve_args=serve_args)
    rig = Rig(server, tmp_path, signals)
    try:
        # Customers call from the test carrier's address (the demo takes calls from its trunk
        # only); a test about other sources sends from anywhere else.
        server.trust_source(CARRIER)
        yield rig
    finally:
        rig.close()
        server.stop()
        if request.node.stash.get(FAILED, False):
            print(f"\n--- server log ({server.log_path}):\n{server.log_tail(80)}")
            print(f"--- peers' traces under {tmp_path}")


@pytest.fixture
def rig(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    signals: dict[str, tuple[Path, list[int]]],
) -> Iterator[Rig]:
    with running_rig(request, tmp_path, signals) as rig:
        yield rig

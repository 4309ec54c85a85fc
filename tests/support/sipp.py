"""SIPp as a customer, a trunk or a registering phone, driven from tests over UDP loopback.

Each run gets its own copy of the scenario in the test's temporary folder (with the few
placeholders SIPp cannot take as keys filled in) and its own trace files there: `-trace_err` for
unexpected messages, `-trace_msg` for every message, `-trace_logs` for the scenario's <log>
lines, which is how the scenarios tell the test what happened (media address, who hung up).

The test makes a running SIPp call hang up by sending it a MESSAGE with the call's Call-ID
(fixed with `-cid_str`): the scenarios wait for BYE, re-INVITE or that MESSAGE. SIPp never
answers the MESSAGE, so nothing stray reaches the switch.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.rtp import free_udp_port

SCENARIOS = Path(__file__).parent / "sip_scenarios"
# The test carrier: customers call from this loopback address, which the e2e and UI servers
# list as a trunk source (RunningServer.trust_source), as a provider's SBC would be listed.
# Any other local address or port is an untrusted source to the demo tenant.
CARRIER = "127.0.0.3"


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise AssertionError(
            "sipp is not installed: run `bash scripts/install-test-deps.sh` (Debian: sip-tester)"
        )
    return path


def sipp_pcap(name: str = "g711a.pcap") -> Path:
    """A pcap shipped by Debian's sip-tester (play_pcap_audio), found via dpkg -L."""
    listing = subprocess.run(
        ["dpkg", "-L", "sip-tester"], capture_output=True, text=True, check=False
    ).stdout
    for line in listing.splitlines():
        if line.endswith("/" + name):
            return Path(line)
    raise AssertionError(f"{name} not found in the sip-tester package (dpkg -L sip-tester)")


class SippFailed(AssertionError):
    pass


@dataclass(frozen=True, slots=True)
class MediaAddress:
    host: str
    port: int
    kind: str  # early, answer, reinvite, offer


class Sipp:
    """One SIPp process with one scenario; traces in `workdir`."""

    def __init__(
        self,
        scenario: str,
        workdir: Path,
        *,
        remote: tuple[str, int] | None = None,
        service: str | None = None,
        local_host: str = "127.0.0.1",
        local_port: int | None = None,
        media_port: int | None = None,
        media_host: str = "127.0.0.1",
        calls: int = 1,
        keys: dict[str, str] | None = None,
        replace: dict[str, str] | None = None,
        extra: Sequence[str] = (),
        name: str | None = None,
    ) -> None:
        self.name = name or f"{Path(scenario).stem}-{uuid.uuid4().hex[:6]}"
        self.workdir = workdir / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        text = (SCENARIOS / scenario).read_text()
        for placeholder, value in (replace or {}).items():
            text = text.replace(placeholder, value)
        self.scenario = self.workdir / Path(scenario).name
        self.scenario.write_text(text)
        self.host = local_host
        self.port = local_port if local_port is not None else free_udp_port()
        self.media_port = media_port if media_port is not None else free_udp_port(even=True)
        self.token = uuid.uuid4().hex[:10]
        self.errors_file = self.workdir / "errors.log"
        self.messages_file = self.workdir / "messages.log"
        self.logs_file = self.workdir / "logs.log"
        self.stdout_file = self.workdir / "stdout.log"
        args = [
            sipp_binary(),
            "-sf",
            str(self.scenario),
            "-i",
            local_host,
            "-p",
            str(self.port),
            "-mi",
            media_host,
            "-mp",
            str(self.media_port),
            "-m",
            str(calls),
            "-nostdin",
            "-cid_str",
            f"%u-{self.token}@%s",
            "-trace_err",
            "-error_file",
            str(self.errors_file),
            "-trace_msg",
            "-message_file",
            str(self.messages_file),
            "-trace_logs",
            "-log_file",
            str(self.logs_file),
            "-aa",  # answer OPTIONS/INFO/NOTIFY/UPDATE in the dialog: keep-alives are fine
        ]
        if service is not None:
            args += ["-s", service]
        for key, value in (keys or {}).items():
            args += ["-key", key, value]
        args += list(extra)
        if remote is not None:
            host = f"[{remote[0]}]" if ":" in remote[0] else remote[0]  # IPv6: RFC 5118 form
            args.append(f"{host}:{remote[1]}")
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    # -- life cycle

    def start(self) -> Sipp:
        with self.stdout_file.open("wb") as out:
            self.process = subprocess.Popen(
                self.args,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None, "sipp was not started"
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise SippFailed(
                f"sipp {self.name} still running after {timeout} s\n{self.report()}"
            ) from None

    def expect_success(self, timeout: float = 60.0) -> None:
        """SIPp exits 0 only when every call followed the scenario."""
        code = self.wait(timeout)
        if code != 0:
            raise SippFailed(f"sipp {self.name} exited with {code}\n{self.report()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> Sipp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what happened

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def errors(self) -> str:
        return self._read(self.errors_file)

    def messages(self) -> str:
        return self._read(self.messages_file)

    def log_lines(self) -> list[str]:
        return [line.strip() for line in self._read(self.logs_file).splitlines() if line.strip()]

    def report(self) -> str:
        tail = self._read(self.stdout_file)[-3000:]
        return (
            f"command: {' '.join(self.args)}\n--- unexpected messages:\n{self.errors()[-4000:]}\n"
            f"--- scenario log:\n" + "\n".join(self.log_lines()[-40:]) + f"\n--- screen:\n{tail}"
        )

    def wait_log(self, pattern: str, *, timeout: float = 30.0) -> re.Match[str]:
        """Wait for a <log> line matching the regex; fail with SIPp's traces if it never comes."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_lines():
                found = regex.search(line)
                if found:
                    return found
            if time.monotonic() > deadline:
                raise SippFailed(
                    f"sipp {self.name}: no log line /{pattern}/ in {timeout} s\n" + self.report()
                )
            if not self.running():
                # One last look: the line may have been flushed at exit.
                for line in self.log_lines():
                    found = regex.search(line)
                    if found:
                        return found
                raise SippFailed(
                    f"sipp {self.name} exited ({self.process.returncode if self.process else '?'})"
                    f" before logging /{pattern}/\n" + self.report()
                )
            time.sleep(0.1)

    def call_id(self, number: int = 1) -> str:
        return f"{number}-{self.token}@{self.host}"

    def send_control(self, call_id: str | None = None) -> None:
        """Ask a call of this SIPp (default: its first) to hang up or cancel, via a MESSAGE
        with the call's Call-ID that the scenario waits for."""
        call_id = call_id or self.call_id()
        branch = "z9hG4bK" + uuid.uuid4().hex[:12]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            message = (
                f"MESSAGE sip:control@{self.host}:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch}\r\n"
                f"From: <sip:test@127.0.0.1:{port}>;tag={uuid.uuid4().hex[:8]}\r\n"
                f"To: <sip:control@{self.host}:{self.port}>\r\n"
                f"Call-ID: {call_id}\r\n"
                "CSeq: 1 MESSAGE\r\n"
                "Max-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            sock.sendto(message.encode(), (self.host, self.port))

    def media_addresses(self) -> list[MediaAddress]:
        out = []
        for line in self.log_lines():
            found = re.match(r"media \S+ ([0-9a-fA-F.:]+) (\d+) (\w+)", line)
            if found:
                out.append(MediaAddress(found[1], int(found[2]), found[3]))
        return out

    def received_requests(self, method: str) -> list[str]:
        """The text of every `method` request SIPp received (from the message trace)."""
        blocks = self.messages().split("----------------------------------------------- ")
        out = []
        for block in blocks:
            if "message received" not in block:
                continue
            body = block.split("\n", 2)[-1].lstrip("\n")
            if body.startswith(method + " "):
                out.append(body)
        return out


def header(message: str, name: str) -> str | None:
    """The first value of a header in a SIP message text (compact forms too)."""
    compact = {"from": "f", "to": "t", "via": "v", "call-id": "i", "contact": "m"}
    names = {name.lower(), compact.get(name.lower(), name.lower())}
    for line in message.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            if key.strip().lower() in names:
                return value.strip()
        if not line.strip():
            break
    return None


class Customer:
    """A customer calling a service's number from SIPp: one call, hung up when the test says."""

    def __init__(
        self,
        workdir: Path,
        switch: tuple[str, int],
        number: str,
        *,
        caller: str = "5551234",
        rtp_port: int | None = None,
        pcap: Path | None = None,
        echo: bool = False,
        codec: int = 0,
        transport: str = "udp",
        source: str = CARRIER,
        local_port: int | None = None,
        extra_headers: str = "",
        media_host: str | None = None,
        info_digit: str | None = None,
        info_delay_ms: int = 1000,
        telephone_events: bool = True,
    ) -> None:
        """`info_digit`: a key sent in a SIP INFO `info_delay_ms` after the call is answered
        (a menu answers it). `telephone_events` False: no RFC 4733 in its SDP. `transport` tcp:
        SIPp connects over TCP (then only the switch can end the call: the hang-up MESSAGE goes
        over UDP). `source`: the address it calls from (the test carrier, a trunk source of the
        test servers; anything else is untrusted). `extra_headers`: lines added to the INVITE
        (e.g. a P-Asserted-Identity). `media_host`: the address in its SDP (default: loopback
        of the source's family)."""
        replace = {"__PCAP__": str(pcap)} if pcap else {}
        replace["__EXTRA_HEADERS__\n"] = extra_headers.replace("\r\n", "\n")
        replace["__INFO_DELAY__"] = str(info_delay_ms)
        extra = ["-rtp_echo"] if echo else []
        if transport == "tcp":
            extra += ["-t", "t1"]
        media_port = free_udp_port(even=True)
        self.sipp = Sipp(
            "customer_call.xml",
            workdir,
            remote=switch,
            service=number,
            local_host=source,
            local_port=local_port,
            media_port=media_port,
            media_host=media_host or ("::1" if ":" in source else "127.0.0.1"),
            replace=replace,
            keys={
                "rtp_port": str(rtp_port if rtp_port is not None else media_port),
                "codec": str(codec),
                "codec_name": "PCMU" if codec == 0 else "PCMA",
                "caller": caller,
                "info_digit": info_digit or "",
            },
            extra=extra,
            name=f"customer-{uuid.uuid4().hex[:6]}",
        )
        text = self.sipp.scenario.read_text()
        if pcap is None:
            text = re.sub(r"<!-- pcap:.*?:pcap -->", "", text, flags=re.S)
        if info_digit is None:
            text = re.sub(r"<!-- info:.*?:info -->", "", text, flags=re.S)
        if not telephone_events:  # a caller (a trunk) that offers no RFC 4733: keys in-band
            text = text.replace(" [codec] 101\n", " [codec]\n")
            text = re.sub(r"\n *a=(rtpmap|fmtp):101 [^\n]*", "", text)
        self.sipp.scenario.write_text(text)

    @property
    def call_id(self) -> str:
        return self.sipp.call_id()

    def start(self) -> Customer:
        self.sipp.start()
        return self

    def wait_answered(self, timeout: float = 30.0) -> None:
        self.sipp.wait_log(r"^answered ", timeout=timeout)

    def media(self, timeout: float = 30.0) -> MediaAddress:
        """The switch's RTP address from the latest SDP it sent this customer."""
        self.sipp.wait_log(r"^media ", timeout=timeout)
        return self.sipp.media_addresses()[-1]

    def hang_up(self) -> None:
        self.sipp.send_control()

    def wait_ended(self, timeout: float = 30.0) -> str:
        """How the call ended: by_switch, by_customer or cancelled; and SIPp exits 0."""
        found = self.sipp.wait_log(r"^ended \S+ (\w+)", timeout=timeout)
        self.sipp.expect_success(timeout=15)
        return found[1]

    def stop(self) -> None:
        self.sipp.stop()


class Trunk:
    """SIPp as the carrier: answers (or refuses) the switch's outbound INVITEs on a free port."""

    def __init__(
        self,
        workdir: Path,
        behaviour: str = "answer",
        *,
        rtp_port: int | None = None,
        calls: int = 1,
        no_answer_ms: int = 60000,
    ) -> None:
        media_port = free_udp_port(even=True)
        self.sipp = Sipp(
            f"trunk_{behaviour}.xml",
            workdir,
            media_port=media_port,
            calls=calls,
            keys={"rtp_port": str(rtp_port if rtp_port is not None else media_port)},
            replace={"__NOANSWER_MS__": str(no_answer_ms)},
            name=f"trunk-{behaviour}-{uuid.uuid4().hex[:6]}",
        )

    @property
    def port(self) -> int:
        return self.sipp.port

    def start(self) -> Trunk:
        self.sipp.start()
        return self

    def invites(self) -> list[str]:
        return self.sipp.received_requests("INVITE")

    def wait_invite(self, timeout: float = 30.0) -> str:
        self.sipp.wait_log(r"^invite ", timeout=timeout)
        deadline = time.monotonic() + 5
        while not self.invites() and time.monotonic() < deadline:
            time.sleep(0.1)  # the message trace is written a moment after the log line
        invites = self.invites()
        assert invites, "the trunk logged an INVITE but its message trace has none"
        return invites[0]

    def hang_up(self) -> None:
        """Ask the trunk's side of the answered call to hang up: BYE towards the switch."""
        # The trunk's call ids are the switch's; find the answered one in the log.
        for line in self.sipp.log_lines():
            found = re.match(r"answered (\S+)", line)
            if found:
                self.sipp.send_control(found[1])
                return
        raise AssertionError("the trunk has no answered call to hang up")

    def stop(self) -> None:
        self.sipp.stop()


def register(
    workdir: Path,
    switch: tuple[str, int],
    cti_id: str,
    password: str,
    *,
    local_port: int | None = None,
    expires: int = 3600,
    timeout: float = 20.0,
) -> tuple[int, Sipp]:
    """REGISTER `cti_id` from SIPp with digest auth; the final status code and the run."""
    run = Sipp(
        "register.xml",
        workdir,
        remote=switch,
        service=cti_id,
        local_port=local_port,
        keys={"expires": str(expires)},
        extra=["-au", cti_id, "-ap", password],
        name=f"register-{cti_id}-{uuid.uuid4().hex[:6]}",
    ).start()
    with contextlib.suppress(SippFailed):
        found = run.wait_log(r"^register (\d+)", timeout=timeout)
        run.wait(timeout=10)
        return int(found[1]), run
    run.stop()
    raise SippFailed(f"REGISTER of {cti_id} got no final answer\n{run.report()}")


# ---- raw SIP over a UDP socket, for what SIPp cannot do (SHA-256 digest, many users at once) --


def sip_exchange(
    sock: socket.socket, text: str, switch: tuple[str, int], *, timeout: float = 10.0
) -> str:
    """Send one request from `sock`; the first final response to it (1xx skipped)."""
    sock.sendto(text.encode(), switch)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            break
        reply = data.decode(errors="replace")
        if not re.match(r"SIP/2.0 1\d\d", reply):
            return reply
    raise SippFailed(f"no final response in {timeout} s to:\n{text}")


def _register_text(
    switch: tuple[str, int],
    user: str,
    via_port: int,
    contact_port: int,
    call_id: str,
    cseq: int,
    auth: str | None,
    expires: int,
) -> str:
    host, port = switch
    lines = [
        f"REGISTER sip:{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{via_port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport",
        f"From: <sip:{user}@{host}:{port}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <sip:{user}@{host}:{port}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:{user}@127.0.0.1:{contact_port}>",
        f"Expires: {expires}",
        "Max-Forwards: 70",
        "User-Agent: ringdesk-tests",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    return "\r\n".join([*lines, "Content-Length: 0", "", ""])


def digest_authorization(
    user: str, password: str, challenge: str, method: str, uri: str, algorithm: str = "MD5"
) -> str:
    """The Authorization value answering one WWW-Authenticate `challenge` (qop auth, nc 1)."""
    hasher = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algorithm]

    def h(value: str) -> str:
        return hasher(value.encode()).hexdigest()

    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    cnonce, nc = uuid.uuid4().hex[:8], "00000001"
    ha1 = h(f"{user}:{params['realm']}:{password}")
    ha2 = h(f"{method}:{uri}")
    response = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", response="{response}", algorithm={algorithm}, qop=auth, nc={nc}, '
        f'cnonce="{cnonce}"'
    )


def digest_register(
    switch: tuple[str, int],
    user: str,
    password: str,
    *,
    contact_port: int | None = None,
    local_port: int = 0,
    algorithm: str = "MD5",
    expires: int = 3600,
) -> tuple[int, list[str]]:
    """REGISTER `user` with a digest response computed here (RFC 7616/8760 `algorithm`);
    the final status code and the challenges offered. Sent from `local_port` (0: any), with the
    Contact on `contact_port` (default: the same port): a SIPp UAS started on that port
    afterwards takes the calls, whether the switch uses the Contact or the REGISTER's source."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", local_port))
        port = sock.getsockname()[1]
        contact = contact_port if contact_port is not None else port
        call_id = uuid.uuid4().hex
        first = sip_exchange(
            sock, _register_text(switch, user, port, contact, call_id, 1, None, expires), switch
        )
        challenges = re.findall(r"(?im)^WWW-Authenticate:\s*(.*?)\s*$", first)
        if not first.startswith("SIP/2.0 401"):
            return int(first.split()[1]), challenges
        wanted = [
            c for c in challenges if re.search(rf"algorithm=\"?{re.escape(algorithm)}\b", c, re.I)
        ]
        if not wanted:
            return 401, challenges
        uri = f"sip:{switch[0]}:{switch[1]}"
        auth = digest_authorization(user, password, wanted[0], "REGISTER", uri, algorithm)
        final = sip_exchange(
            sock, _register_text(switch, user, port, contact, call_id, 2, auth, expires), switch
        )
        return int(final.split()[1]), challenges

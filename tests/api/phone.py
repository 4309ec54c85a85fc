"""A minimal SIP phone for API tests: REGISTER with digest auth over UDP, nothing more.

The API refuses to dial from an unregistered phone, so enforcement tests need a real
registration with the embedded switch. Call flows with real phones (baresip, linphone, sipp)
are in tests/e2e; this only speaks the few lines of RFC 3261 / RFC 2617 a REGISTER needs.
"""

from __future__ import annotations

import re
import secrets
import socket
import time

from tests.support.sipp import digest_authorization


class SipError(AssertionError):
    pass


class RegisteringPhone:
    def __init__(self, switch_host: str, switch_port: int) -> None:
        self.server = (switch_host, switch_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(1.0)
        self.port = self.sock.getsockname()[1]
        self.call_id = secrets.token_hex(8) + "@127.0.0.1"
        self.tag = secrets.token_hex(4)
        self.cseq = 0

    def close(self) -> None:
        self.sock.close()

    def _request(self, user: str, expires: int, authorization: str | None) -> str:
        self.cseq += 1
        host, port = self.server
        uri = f"sip:{host}:{port}"
        lines = [
            f"REGISTER {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(8)};rport",
            "Max-Forwards: 70",
            f"From: <sip:{user}@{host}>;tag={self.tag}",
            f"To: <sip:{user}@{host}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            f"Contact: <sip:{user}@127.0.0.1:{self.port}>",
            f"Expires: {expires}",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        lines += ["Content-Length: 0", "", ""]
        self.sock.sendto("\r\n".join(lines).encode(), self.server)
        return self._response(self.cseq)

    def _response(self, cseq: int, timeout: float = 20.0) -> str:
        # Skip anything else the switch may send (e.g. an INVITE for a call) until our answer.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            text = data.decode(errors="replace")
            if text.startswith("SIP/2.0 ") and re.search(
                rf"^CSeq:\s*{cseq}\s+REGISTER", text, re.M | re.I
            ):
                status = int(text.split(" ", 2)[1])
                if status >= 200:
                    return text
        raise SipError("no final response to REGISTER")

    def register(self, user: str, password: str, expires: int = 300) -> int:
        """REGISTER, answer the digest challenge; return the final status code."""
        first = self._request(user, expires, None)
        status = int(first.split(" ", 2)[1])
        if status != 401:
            return status
        challenge = next(
            (
                line.split(":", 1)[1].strip()
                for line in first.split("\r\n")
                if line.lower().startswith("www-authenticate:") and "MD5" in line.upper()
            ),
            None,
        )
        if challenge is None:
            raise SipError(f"no MD5 challenge in:\n{first}")
        host, port = self.server
        authorization = digest_authorization(
            user, password, challenge, "REGISTER", f"sip:{host}:{port}"
        )
        final = self._request(user, expires, authorization)
        return int(final.split(" ", 2)[1])

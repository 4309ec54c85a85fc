"""media/readiness.py: many sockets watched as one event-loop reader, on real sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from ringdesk.media.readiness import Readiness


def udp_pair() -> tuple[socket.socket, socket.socket]:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.connect(receiver.getsockname())
    return receiver, sender


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.005)


async def test_a_failing_callback_leaves_the_others_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    readiness = Readiness()
    (bad, bad_sender), (good, good_sender) = udp_pair(), udp_pair()
    got: list[bytes] = []

    def broken() -> None:
        bad.recv(100)
        raise RuntimeError("a bug in one leg")

    readiness.add(bad, broken)
    readiness.add(good, lambda: got.append(good.recv(100)))
    try:
        for i in range(3):
            bad_sender.send(b"x")
            good_sender.send(bytes([i]))
        await until(lambda: len(got) == 3)
        assert got == [b"\x00", b"\x01", b"\x02"]
        assert "its handler failed" in caplog.text
    finally:
        readiness.close()
        for sock in (bad, bad_sender, good, good_sender):
            sock.close()


async def test_the_set_and_its_reader_exist_only_while_a_socket_is_watched() -> None:
    readiness = Readiness()
    receiver, sender = udp_pair()
    got: list[bytes] = []
    try:
        readiness.add(receiver, lambda: got.append(receiver.recv(100)))
        assert len(readiness) == 1 and readiness._epoll is not None
        sender.send(b"a")
        await until(lambda: got == [b"a"])
        readiness.discard(receiver)
        assert len(readiness) == 0 and readiness._epoll is None
        readiness.discard(receiver)  # twice: harmless
        sender.send(b"b")
        await asyncio.sleep(0.05)
        assert got == [b"a"]
        readiness.add(receiver, lambda: got.append(receiver.recv(100)))  # and again
        await until(lambda: got == [b"a", b"b"])
    finally:
        readiness.close()
        receiver.close()
        sender.close()


def test_without_a_running_loop_adding_says_so() -> None:
    receiver, sender = udp_pair()
    try:
        with pytest.raises(RuntimeError):
            Readiness().add(receiver, lambda: None)
    finally:
        receiver.close()
        sender.close()

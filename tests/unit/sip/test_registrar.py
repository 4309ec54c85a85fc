from ringdesk.sip.message import Request, parse_message
from ringdesk.sip.registrar import Registrar

from .samples import REGISTER

SRC = ("127.0.0.1", 5071)


def register(
    contact: bytes = b"<sip:1001@127.0.0.1:5071>", expires: bytes = b"3600", cseq: int = 1
) -> Request:
    data = REGISTER.replace(b"<sip:1001@127.0.0.1:5071>", contact)
    data = data.replace(b"Expires: 3600", b"Expires: " + expires)
    data = data.replace(b"CSeq: 1 REGISTER", f"CSeq: {cseq} REGISTER".encode())
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


def make() -> tuple[Registrar, list[tuple[str, bool]]]:
    changes: list[tuple[str, bool]] = []
    return Registrar(on_change=lambda c, r: changes.append((c, r))), changes


def test_register_lookup_and_expiry() -> None:
    reg, changes = make()
    result = reg.register("1001", register(expires=b"120"), SRC, "udp", now=0.0)
    assert result.status == 200
    assert result.headers == [("Contact", "<sip:1001@127.0.0.1:5071>;expires=120")]
    assert reg.is_registered("1001", 100.0)
    assert [b.source for b in reg.lookup("1001", 100.0)] == [SRC]
    assert changes == [("1001", True)]
    assert reg.next_expiry() == 120.0
    assert reg.expire(119.0) == []
    assert reg.expire(121.0) == ["1001"]
    assert not reg.is_registered("1001", 121.0)
    assert changes == [("1001", True), ("1001", False)]


def test_refresh_does_not_report_a_change() -> None:
    reg, changes = make()
    reg.register("1001", register(), SRC, "udp", now=0.0)
    reg.register("1001", register(cseq=2), SRC, "udp", now=10.0)
    assert changes == [("1001", True)]
    assert len(reg.lookup("1001", 11.0)) == 1


def test_too_brief_is_423_with_min_expires() -> None:
    reg, _ = make()
    result = reg.register("1001", register(expires=b"30"), SRC, "udp", now=0.0)
    assert (result.status, result.headers) == (423, [("Min-Expires", "60")])
    assert not reg.is_registered("1001", 0.0)


def test_contact_expires_param_wins_and_default_applies() -> None:
    reg, _ = make()
    req = register(contact=b"<sip:1001@127.0.0.1:5071>;expires=600")
    reg.register("1001", req, SRC, "udp", now=0.0)
    assert reg.next_expiry() == 600.0
    no_header = parse_message(REGISTER.replace(b"Expires: 3600\r\n", b""))
    assert isinstance(no_header, Request)
    reg2, _ = make()
    reg2.register("1001", no_header, SRC, "udp", now=0.0)
    assert reg2.next_expiry() == 3600.0


def test_expires_zero_and_wildcard_remove() -> None:
    reg, changes = make()
    reg.register("1001", register(), SRC, "udp", now=0.0)
    reg.register("1001", register(expires=b"0", cseq=2), SRC, "udp", now=1.0)
    assert not reg.is_registered("1001", 1.0)
    reg.register("1001", register(cseq=3), SRC, "udp", now=2.0)
    result = reg.register("1001", register(contact=b"*", expires=b"0", cseq=4), SRC, "udp", 3.0)
    assert result.status == 200
    assert not reg.is_registered("1001", 3.0)
    assert changes == [("1001", True), ("1001", False), ("1001", True), ("1001", False)]
    bad = reg.register("1001", register(contact=b"*", expires=b"60", cseq=5), SRC, "udp", 4.0)
    assert bad.status == 400


def test_out_of_order_register_is_refused() -> None:
    reg, _ = make()
    reg.register("1001", register(cseq=5), SRC, "udp", now=0.0)
    assert reg.register("1001", register(cseq=4), SRC, "udp", now=1.0).status == 500


def test_the_sweep_looks_only_at_bindings_whose_time_came_and_stays_small() -> None:
    from ringdesk.sip.registrar import Binding
    from ringdesk.sip.uri import parse_uri

    changes: list[tuple[str, bool]] = []
    registrar = Registrar(on_change=lambda cti_id, up: changes.append((cti_id, up)))

    def binding(cti_id: str, expires_at: float) -> Binding:
        return Binding(
            cti_id, parse_uri(f"sip:{cti_id}@10.0.0.1:5060"), expires_at, "c", 1, ("10.0.0.1", 5060)
        )

    registrar.restore([binding(f"{n}", 100.0 + n) for n in range(1000)], 0.0)
    changes.clear()
    assert registrar.expire(50.0) == []
    assert registrar.expire(104.5) == ["0", "1", "2", "3", "4"]  # earliest first
    assert changes == [(c, False) for c in ("0", "1", "2", "3", "4")]
    registrar.restore([binding("5", 5000.0)], 104.5)  # refreshed: its old time is stale
    assert "5" not in registrar.expire(106.0)
    assert registrar.is_registered("5", 106.0)
    for n in range(20_000):  # one phone refreshing over and over
        registrar.restore([binding("7", 200.0 + n)], 106.0)
    assert len(registrar._expiries) <= 4 * 1000 + 1024 + 1  # rebuilt, not grown without end
    assert registrar.expire(2000.0) == [str(n) for n in range(8, 1000)]  # 6 went at 106
    assert registrar.is_registered("7", 2000.0)

"""The benchmarks' own logic (bench/): what decides their printed figures, without a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench import route, rtp_peer, sip_cps
from hypothesis import given
from hypothesis import strategies as st

_keys = st.text(min_size=1, max_size=8)
_bencodable = st.recursive(
    st.integers(-(10**12), 10**12) | st.binary(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=12,
)


@given(_bencodable)
def test_bencode_round_trips(value: object) -> None:
    assert rtp_peer.bdecode(rtp_peer.bencode(value)) == value  # type: ignore[arg-type]


def test_bencode_matches_the_ng_protocol_bytes() -> None:
    message = {"command": "ping", "flags": ["a", 1]}
    assert rtp_peer.bencode(message) == b"d7:command4:ping5:flagsl1:ai1eee"
    assert rtp_peer.bdecode(b"d6:result4:ponge") == {"result": b"pong"}


@pytest.mark.parametrize("bad", [b"i1", b"l1:a", b"d1:ae", b"5:ab", b"i1ei2e"])
def test_bdecode_refuses_broken_input(bad: bytes) -> None:
    with pytest.raises((ValueError, IndexError)):
        rtp_peer.bdecode(bad)


def _step(calls: int, late: float, server: float, cost: float) -> dict[str, float]:
    return {
        "calls": calls,
        "late_pct": late,
        "server_pct": server,
        "us_per_frame": cost,
        "relayed_frames": calls * 100,
    }


def test_relay_summary_stops_at_the_first_late_step_and_takes_the_median_cost() -> None:
    steps = [
        _step(300, 0.0, 0.0, 5.0),
        _step(500, 0.0, 0.0, 9.0),
        _step(700, 0.0, 0.0, 6.0),
        _step(900, 0.5, 0.0, 1.0),  # late through the generator, not the server
        _step(1100, 0.0, 0.0, 1.0),  # clean again, but above a late step: not counted
        _step(1300, 3.0, 2.0, 1.0),
    ]
    summary = rtp_peer.summary(steps)
    assert summary["highest_clean_n"] == 700
    assert summary["highest_server_clean_n"] == 1100
    assert summary["us_per_frame"] == 6.0  # the median of 5, 9, 6: not the lucky minimum
    assert summary["calls_per_core"] == pytest.approx(1e6 / 6.0 / 100)


def test_a_sip_step_with_a_failed_or_missing_call_is_not_clean() -> None:
    assert sip_cps.Step(100, 1000, 1000, 0, [4.0] * 10).clean
    assert not sip_cps.Step(100, 1000, 999, 1, []).clean
    assert not sip_cps.Step(100, 1000, 999, 0, []).clean  # one never ended


def test_the_headline_needs_zero_failures_and_the_p90_limit() -> None:
    fast = sip_cps.Step(300, 10, 10, 0, [5.0] * 10)
    slow = sip_cps.Step(400, 10, 10, 0, [5.0] * 5 + [500.0] * 5)
    failed = sip_cps.Step(500, 10, 9, 1, [5.0] * 9)
    steps = [fast, slow, failed]
    assert sip_cps.best(steps, p90_ms=100) is fast
    assert sip_cps.best(steps) is slow


def test_unexpected_messages_are_counted_from_sipps_error_file(tmp_path: Path) -> None:
    log = tmp_path / "errors.log"
    line = "Continuing call on unexpected message for Call-Id '1-2@h': while pausing\n"
    log.write_text(line * 3 + "Aborting call on unexpected message for Call-Id '9'\n")
    assert sip_cps._unexpected(log) == 3
    assert sip_cps._unexpected(tmp_path / "absent.log") == 0


def test_route_measure_returns_the_four_figures_for_any_size() -> None:
    figures = route.measure(agents=300, iterations=200)
    assert set(figures) == {"routing", "status", "plain", "arrival"}
    for figure in figures.values():
        assert figure.runs == 200
        assert 0 < figure.median_us <= figure.p99_us

"""DigitDetector: RFC 4733 telephone-events and in-band DTMF in G.711 audio.

Tones, packets and G.711 encoding come from tests/support (independent of the product's code).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ringdesk.media import sounds
from ringdesk.media.dtmf import DIGITS, DigitDetector
from tests.support.dtmf import (
    EVENT_PT,
    TONES,
    dtmf_packets,
    rtp_packet,
    telephone_event_packets,
    tone_samples,
    write_rtp_pcap,
)
from tests.support.rtp import FRAME, PCMA, PCMU, encode, pcap_payloads

KEYS = "0123456789*#ABCD"


def audio_packets(
    samples: list[int], payload_type: int = PCMU, *, timestamp: int = 0, sequence: int = 0
) -> list[bytes]:
    data = encode(samples, payload_type)
    return [
        rtp_packet(
            data[i : i + FRAME],
            sequence=sequence + i // FRAME,
            timestamp=timestamp + i,
            payload_type=payload_type,
        )
        for i in range(0, len(data) - FRAME + 1, FRAME)
    ]


def detect(packets: list[bytes], detector: DigitDetector) -> str:
    return "".join(d for d in map(detector.feed, packets) if d is not None)


def inband(samples: list[int], payload_type: int = PCMU) -> str:
    return detect(audio_packets(samples, payload_type), DigitDetector(payload_type, None))


def pair(digit: str, ms: int, *, low_amp: float, high_amp: float, start: int = 0) -> list[int]:
    low, high = TONES[digit]
    return [
        round(
            low_amp * math.sin(2 * math.pi * low * n / 8000)
            + high_amp * math.sin(2 * math.pi * high * n / 8000)
        )
        for n in range(start, start + 8 * ms)
    ]


SILENCE = [0] * 4000


# ---- in-band --------------------------------------------------------------------------------


def test_digits_constant_is_the_rfc_4733_order() -> None:
    assert DIGITS == KEYS


def test_every_digit_in_band_pcmu_and_pcma_once() -> None:
    for payload_type in (PCMU, PCMA):
        assert inband(SILENCE + tone_samples(KEYS) + SILENCE, payload_type) == KEYS


def test_a_long_press_is_one_digit() -> None:
    assert inband(tone_samples("7", on_ms=3000)) == "7"


def test_the_same_key_twice_with_a_60_ms_pause_is_two_digits() -> None:
    for shift in range(0, FRAME, 20):
        assert inband([0] * shift + tone_samples("99", on_ms=100, off_ms=60)) == "99", shift


def test_a_20_ms_tone_is_not_a_press() -> None:
    for shift in range(0, FRAME, 20):
        assert inband([0] * shift + tone_samples("1", on_ms=20) + SILENCE) == "", shift


def test_50_ms_tones_with_50_ms_pauses_at_any_alignment() -> None:
    for shift in range(0, FRAME, 8):
        assert inband([0] * shift + tone_samples("5858", on_ms=50, off_ms=50)) == "5858", shift


def test_weak_tones_are_not_detected_but_minus_29_dbm0_is() -> None:
    assert inband(tone_samples("3", amplitude=350)) == ""  # about -36 dBm0 per tone
    assert inband(tone_samples("3", amplitude=800)) == "3"


def test_twist_limits() -> None:
    def db(value: float) -> float:
        return 6000 * 10 ** (value / 20)

    # The low-group tone may be up to 8 dB louder, the high-group one up to 4 dB.
    assert inband(pair("6", 200, low_amp=db(7), high_amp=db(0))) == "6"
    assert inband(pair("6", 200, low_amp=db(0), high_amp=db(3))) == "6"
    assert inband(pair("6", 200, low_amp=db(10), high_amp=db(0))) == ""
    assert inband(pair("6", 200, low_amp=db(0), high_amp=db(6))) == ""


def test_one_tone_alone_is_not_a_digit() -> None:
    assert inband(pair("5", 500, low_amp=8000, high_amp=0)) == ""
    assert inband(pair("5", 500, low_amp=0, high_amp=8000)) == ""


def test_a_1_khz_tone_is_not_a_digit() -> None:
    tone = [round(10000 * math.sin(2 * math.pi * 1000 * n / 8000)) for n in range(8000 * 3)]
    assert inband(tone) == ""


def test_white_noise_is_not_a_digit() -> None:
    rng = random.Random(4)
    for level in (300, 3000, 12000):
        assert inband([round(rng.gauss(0, level)) for _ in range(8000 * 3)]) == "", level


def test_no_digit_in_the_queue_and_hold_music(tmp_path: Path) -> None:
    paths = sounds.generate_defaults(tmp_path)
    for name in ("queue_music", "hold_music"):
        samples = sounds.read_wav(paths[name].read_bytes())
        assert len(samples) >= 8000 * 5, name
        for payload_type in (PCMU, PCMA):
            frames = sounds.to_frames(samples, payload_type)
            packets = [
                rtp_packet(f, sequence=i, timestamp=i * FRAME, payload_type=payload_type)
                for i, f in enumerate(frames)
            ]
            assert detect(packets, DigitDetector(payload_type, None)) == "", name


def test_a_digit_inside_music_is_found(tmp_path: Path) -> None:
    music = list(sounds.read_wav(sounds.generate_defaults(tmp_path)["hold_music"].read_bytes()))
    tones = tone_samples("4", on_ms=200, amplitude=9000)
    mixed = [m // 10 + t for m, t in zip(music[8000 : 8000 + len(tones)], tones, strict=True)]
    assert inband(music[:8000] + mixed + music[:8000]) == "4"


def test_silence_suppression_gap_releases_the_key() -> None:
    # The phone sends nothing in the pause: the RTP timestamps jump, and the key is free again.
    first = audio_packets(tone_samples("2", on_ms=100, off_ms=0))
    second = audio_packets(tone_samples("2", on_ms=100, off_ms=0), timestamp=800 + 480)
    assert detect(first + second, DigitDetector(PCMU, None)) == "22"
    # Without the jump, back-to-back frames of the same key stay one press.
    again = audio_packets(tone_samples("2", on_ms=100, off_ms=0), timestamp=800)
    assert detect(first + again, DigitDetector(PCMU, None)) == "2"


def test_10_ms_packets_are_framed_into_20_ms() -> None:
    data = encode(SILENCE + tone_samples("8#") + SILENCE, PCMU)
    packets = [
        rtp_packet(data[i : i + 80], sequence=i // 80, timestamp=i) for i in range(0, len(data), 80)
    ]
    assert detect(packets, DigitDetector(PCMU, None)) == "8#"


def test_other_payload_types_are_ignored() -> None:
    samples = tone_samples("1")
    assert detect(audio_packets(samples, PCMA), DigitDetector(PCMU, None)) == ""


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(KEYS), st.integers(50, 300), st.integers(50, 300)),
        min_size=1,
        max_size=8,
    ),
    st.integers(0, FRAME - 1),
    st.sampled_from([PCMU, PCMA]),
)
def test_random_digit_strings_round_trip(
    presses: list[tuple[str, int, int]], shift: int, payload_type: int
) -> None:
    samples = [0] * shift
    for digit, on_ms, off_ms in presses:
        samples += tone_samples(digit, on_ms=on_ms, off_ms=off_ms)
    assert inband(samples, payload_type) == "".join(d for d, _, _ in presses)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(KEYS), st.integers(50, 300), st.integers(50, 300)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2**32 - 1),
    st.integers(500, 8000),
)
def test_random_digits_with_noise_at_20_db_snr_round_trip(
    presses: list[tuple[str, int, int]], seed: int, amplitude: int
) -> None:
    samples: list[int] = []
    for digit, on_ms, off_ms in presses:
        samples += tone_samples(digit, on_ms=on_ms, off_ms=off_ms, amplitude=max(amplitude, 1000))
    rng = random.Random(seed)
    # The tone pair's power is amplitude^2; noise 20 dB below it has sigma amplitude / 10.
    sigma = max(amplitude, 1000) / 10
    noisy = [max(-32768, min(32767, s + round(rng.gauss(0, sigma)))) for s in samples]
    assert inband(noisy) == "".join(d for d, _, _ in presses)


# ---- RFC 4733 -------------------------------------------------------------------------------


def events(digit: str, timestamp: int, sequence: int = 0, **kw: int) -> list[bytes]:
    return telephone_event_packets(digit, sequence=sequence, timestamp=timestamp, **kw)


def test_each_event_reports_at_its_first_packet_once() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    for code, key in enumerate(KEYS):
        packets = events(key, 1000 * (code + 1), sequence=10 * code)
        assert detector.feed(packets[0]) == key
        assert [detector.feed(p) for p in packets[1:]] == [None] * (len(packets) - 1)
    assert detector.telephone_events_seen


def test_end_retransmissions_and_lost_start_packets() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    packets = events("5", 8000)
    # Only the three end packets arrive: still one digit, at the first of them.
    assert [detector.feed(p) for p in packets[-3:]] == ["5", None, None]


def test_after_an_ended_press_only_its_own_retransmissions_are_skipped() -> None:
    # The end packets come three times; once one has been seen the others are skipped unparsed
    # (a key burst of a thousand callers is mostly such packets). Anything else still counts.
    detector = DigitDetector(PCMU, EVENT_PT)
    packets = events("7", 8000)
    assert [detector.feed(p) for p in packets] == ["7"] + [None] * (len(packets) - 1)
    assert detector.feed(events("8", 8000, ssrc=99)[-1]) == "8"  # same timestamp, new source
    assert detector.feed(packets[-1]) == "7"  # the first source again starts afresh
    assert detector.feed(events("9", 8160, sequence=30)[0]) == "9"  # the next press
    assert detector.feed(events("9", 8160, sequence=30)[-1]) is None


def test_a_long_event_ended_in_a_later_segment_is_still_one_press() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    start = rtp_packet(bytes([9, 10, 0xFF, 0xFF]), sequence=1, timestamp=1000, payload_type=101)
    end = rtp_packet(bytes([9, 0x8A, 1, 64]), sequence=2, timestamp=1000 + 0xFFFF, payload_type=101)
    feeds = [detector.feed(p) for p in (start, end, end, end)]
    assert feeds == ["9", None, None, None]
    assert detector.feed(events("9", 1000 + 0xFFFF + 160, sequence=5)[0]) == "9"


def test_the_same_key_pressed_twice_is_two_digits() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    packets = events("#", 8000) + events("#", 8000 + 1600, sequence=20)
    assert detect(packets, detector) == "##"


def test_late_packets_of_an_earlier_event_report_nothing() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    first, second = events("1", 8000), events("2", 9600, sequence=20)
    order = first[:2] + second[:1] + first[2:] + second[1:]
    assert detect(order, detector) == "12"


def test_timestamps_wrap_around() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    packets = events("3", 2**32 - 800) + events("4", 800, sequence=20)
    assert detect(packets, detector) == "34"


def test_a_new_ssrc_starts_afresh() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    packets = events("3", 90000, ssrc=1) + events("4", 100, ssrc=2, sequence=20)
    assert detect(packets, detector) == "34"


def test_events_above_15_are_ignored() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    flash = rtp_packet(bytes([16, 0x8A, 0, 160]), sequence=1, timestamp=500, payload_type=EVENT_PT)
    assert detector.feed(flash) is None
    assert detector.telephone_events_seen
    assert detector.feed(events("0", 2000)[0]) == "0"


def test_a_long_event_in_segments_is_one_press() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    start = rtp_packet(bytes([9, 10, 0xFF, 0xFF]), sequence=1, timestamp=1000, payload_type=101)
    segment = rtp_packet(
        bytes([9, 10, 0, 160]), sequence=2, timestamp=1000 + 0xFFFF, payload_type=101
    )
    end = rtp_packet(bytes([9, 0x8A, 1, 64]), sequence=3, timestamp=1000 + 0xFFFF, payload_type=101)
    assert [detector.feed(p) for p in (start, segment, end)] == ["9", None, None]


def test_short_or_malformed_event_packets_are_ignored() -> None:
    detector = DigitDetector(PCMU, EVENT_PT)
    assert detector.feed(b"\x80\x65") is None
    assert detector.feed(rtp_packet(b"\x05\x0a", sequence=1, timestamp=1, payload_type=101)) is None
    assert not detector.telephone_events_seen


def test_telephone_events_switch_off_in_band() -> None:
    # A phone that sends the tones in its audio and the events too: one digit per press.
    packets, _ = dtmf_packets("123", mode="rfc4733")
    tones = audio_packets(SILENCE + tone_samples("123") + SILENCE)
    detector = DigitDetector(PCMU, EVENT_PT)
    mixed = [p for pair in zip(tones, packets, strict=False) for p in pair]
    assert detect(mixed, detector) == "123"
    assert detector.telephone_events_seen
    # A leg with telephone-event negotiated never looks at its audio.
    assert detect(tones, DigitDetector(PCMU, EVENT_PT)) == ""


def test_a_header_with_csrcs_extension_and_padding() -> None:
    payload = bytes([7, 0x8A, 3, 32])
    header = bytes([0xB2, EVENT_PT, 0, 1]) + (4000).to_bytes(4, "big") + b"\x00\x00\x00\x09"
    csrcs = b"\x00\x00\x00\x01" * 2
    extension = b"\xbe\xde\x00\x01" + b"\x10\xaa\x00\x00"
    padding = b"\x00\x00\x03"
    detector = DigitDetector(PCMA, EVENT_PT)
    assert detector.feed(header + csrcs + extension + payload + padding) == "7"


# ---- the test helpers' streams ---------------------------------------------------------------


def test_dtmf_streams_carry_their_digits(tmp_path: Path) -> None:
    for payload_type in (PCMU, PCMA):
        packets, times = dtmf_packets("90*#", mode="inband", payload_type=payload_type)
        assert detect(packets, DigitDetector(payload_type, None)) == "90*#"
        assert times == sorted(times)
        packets, times = dtmf_packets("90*#", mode="rfc4733", payload_type=payload_type)
        assert detect(packets, DigitDetector(payload_type, EVENT_PT)) == "90*#"
        assert times == sorted(times)
        path = write_rtp_pcap(tmp_path / "d.pcap", packets, times=times)
        audio = [p[12:] for p in packets if p[1] & 0x7F == payload_type]
        assert pcap_payloads(path) == audio

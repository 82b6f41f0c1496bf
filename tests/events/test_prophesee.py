"""Prophesee RAW / DAT on files made from the specs: time conventions, triggers, headerless
streams, and every kind of bad input as one InputFileError sentence (exit 2 in the CLI)."""

from __future__ import annotations

import eventcv
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asa_live.errors import ConfigError, InputFileError
from asa_live.events import make_events, open_source
from asa_live.events.cli import main
from asa_live.events.evt2 import EvtDecoder
from asa_live.events.prophesee import DatSource, RawSource

from .helpers import random_events
from .prophesee_writer import encode_dat, encode_evt2, encode_evt3, encode_evt21, header


def _read(path, **kw):
    with open_source(path, **kw) as source:
        packets = list(source)
    return np.concatenate(packets) if packets else packets, source


def _events(rng, n=2000, sensor=(640, 480), t_max=3_000_000):
    events = random_events(rng, n, sensor, t_max)
    events["t"] += 1_000
    return events


@pytest.mark.parametrize("version, encode", [("2.0", encode_evt2), ("3.0", encode_evt3)])
def test_roundtrip_with_header(tmp_path, rng, version, encode):
    events = _events(rng)
    path = tmp_path / "rec.raw"
    path.write_bytes(header(version) + encode(events))
    out, source = _read(path)
    assert source.sensor_size == (640, 480)
    np.testing.assert_array_equal(out, events)


def test_evt21_roundtrip_groups_vectors(tmp_path, rng):
    events = _events(rng, 3000, (64, 8))  # a small sensor: many events share a vector word
    events = np.sort(events, order=["t", "y", "p", "x"])
    events = events[np.unique(events[["t", "x", "y", "p"]], return_index=True)[1]]
    path = tmp_path / "rec.raw"
    path.write_bytes(header("2.1", "64x8") + encode_evt21(events))
    out, _ = _read(path)
    key = ["t", "y", "p", "x"]
    np.testing.assert_array_equal(np.sort(out, order=key), np.sort(events, order=key))


def test_evt2_time_high_overflow_keeps_time_increasing(tmp_path):
    wrap = 1 << 34  # the 28-bit time high covers 2**34 us
    t = np.array([wrap - 200, wrap - 70, wrap + 5, wrap + 1_000, 2 * wrap + 3])
    events = make_events(t, [1, 2, 3, 4, 5], [0, 0, 1, 1, 2], [1, 0, 1, 0, 1])
    path = tmp_path / "wrap.raw"
    path.write_bytes(header("2.0") + encode_evt2(events))
    out, _ = _read(path)
    np.testing.assert_array_equal(out["t"], t)


def test_evt3_time_high_overflow_matches_eventcv(tmp_path):
    wrap = 1 << 24  # EVT 3.0 time is 24 bits (16.8 s)
    t = np.array([wrap - 5000, wrap - 1, wrap + 2, wrap + 70_000, 2 * wrap + 9])
    events = make_events(t, [1, 2, 3, 4, 5], [0, 0, 1, 1, 2], [1, 0, 1, 0, 1])
    path = tmp_path / "wrap.raw"
    path.write_bytes(header("3.0") + encode_evt3(events))
    out, _ = _read(path)
    np.testing.assert_array_equal(out["t"], t)
    np.testing.assert_array_equal(eventcv.load(str(path)).numpy()[:, 2], t)


@pytest.mark.parametrize("version, encode", [("2.0", encode_evt2), ("3.0", encode_evt3)])
def test_triggers_skipped_and_counted(tmp_path, rng, version, encode, capsys):
    events = _events(rng, 500)
    path = tmp_path / "trig.raw"
    path.write_bytes(header(version) + encode(events, triggers_after={3, 10, 499}))
    out, source = _read(path)
    np.testing.assert_array_equal(out, events)
    assert source.triggers == 3
    assert main([str(path)]) == 0
    assert "3 EXT_TRIGGER words skipped" in capsys.readouterr().out


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 4000), max_size=6), seed=st.integers(0, 2**16))
def test_evt2_chunked_decode_equals_whole(cuts, seed):
    events = _events(np.random.default_rng(seed), 1000, t_max=1 << 35)
    words = np.frombuffer(encode_evt2(events, triggers_after={5}), "<u4")
    whole = EvtDecoder("evt2").decode(words)
    decoder = EvtDecoder("evt2")
    bounds = [0, *sorted(c % (len(words) + 1) for c in cuts), len(words)]
    parts = [decoder.decode(words[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    np.testing.assert_array_equal(whole, events)
    assert decoder.triggers == 1


@pytest.mark.parametrize(
    "fmt, encode", [("evt2", encode_evt2), ("evt21", encode_evt21), ("evt3", encode_evt3)]
)
def test_headerless_needs_format_and_sensor_size(tmp_path, rng, fmt, encode):
    events = _events(rng, 300, (320, 320))
    path = tmp_path / "left2.bin"
    path.write_bytes(encode(events))
    with pytest.raises(InputFileError, match="--format evt2"):
        open_source(path)
    with pytest.raises(InputFileError, match="--sensor-size"):
        open_source(path, format=fmt)
    out, source = _read(path, format=fmt, sensor_size=(320, 320))
    assert source.sensor_size == (320, 320) and len(out) == len(events)


def test_dat_with_geometry_and_without(tmp_path, rng):
    events = _events(rng, 400, (304, 240))
    path = tmp_path / "cars.dat"
    path.write_bytes(encode_dat(events, (304, 240)))
    out, source = _read(path)
    assert source.sensor_size == (304, 240)
    np.testing.assert_array_equal(out, events)
    path.write_bytes(encode_dat(events))
    with pytest.raises(InputFileError, match="--sensor-size"):
        open_source(path)
    assert len(_read(path, sensor_size="304x240")[0]) == len(events)


def test_events_outside_the_sensor_dropped_and_counted(tmp_path, rng):
    events = _events(rng, 1000, (640, 480))
    events["x"][::100] = 700  # 10 events beyond x = 639
    path = tmp_path / "out.raw"
    path.write_bytes(header("2.0", "640x480") + encode_evt2(events))
    with pytest.warns(UserWarning, match="dropped 10 events outside the 640x480 sensor"):
        out, source = _read(path)
    assert source.dropped == 10 and len(out) == 990


def _bad_file(tmp_path, rng, kind):
    events = _events(rng, 500, (1280, 720))
    payload = encode_evt2(events)
    name, data, kw = "bad.raw", header("2.0", "1280x720") + payload, {}
    if kind == "truncated":
        data = data[:-3]
    elif kind == "truncated header":
        data = b"% evt 2.0\n% geometry 12"
    elif kind == "lying geometry":
        data = header("2.0", "320x240") + payload
    elif kind == "malformed geometry":
        data = header("2.0", "0x-3") + payload
    elif kind == "unknown evt":
        data = header("4.0") + payload
    elif kind == "no sensor size":
        name, data = "bare.bin", payload
        kw = {"format": "evt2"}
    elif kind == "no header":
        name, data = "bare.bin", payload
    elif kind == "truncated dat":
        name, data, kw = "bad.dat", encode_dat(events, (1280, 720))[:-5], {}
    elif kind == "truncated headerless evt3":
        name, data = "bare.bin", encode_evt3(events)[:-1]
        kw = {"format": "evt3", "sensor_size": "1280x720"}
    path = tmp_path / name
    path.write_bytes(data)
    return path, kw


BAD = {
    "truncated": "truncated",
    "truncated header": "truncated",
    "lying geometry": "the stated size is wrong",
    "malformed geometry": "malformed sensor geometry",
    "unknown evt": "EVT 2.0, 2.1 and 3.0",
    "no sensor size": "--sensor-size",
    "no header": "Cannot tell the format",
    "truncated dat": "truncated",
    "truncated headerless evt3": "truncated",
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_input_one_sentence_exit_2(tmp_path, rng, capsys, kind):
    path, kw = _bad_file(tmp_path, rng, kind)
    with pytest.raises(InputFileError, match=BAD[kind]):
        _read(path, **kw)
    args = [str(path)] + [f"--{k.replace('_', '-')}={v}" for k, v in kw.items()]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert BAD[kind] in err and "\n" not in err and "Traceback" not in err


def test_bad_options(tmp_path, rng):
    path, _ = _bad_file(tmp_path, rng, "no header")
    with pytest.raises(ConfigError, match="Unknown format"):
        open_source(path, format="evt9")
    with pytest.raises(ConfigError, match="1280x720"):
        open_source(path, format="evt2", sensor_size="wide")
    with pytest.raises(SystemExit) as exit_info:
        main([str(path), "--format", "evt9"])
    assert exit_info.value.code == 2


def test_sources_are_reopenable(tmp_path, rng):
    events = _events(rng, 300)
    path = tmp_path / "again.raw"
    path.write_bytes(header("3.0") + encode_evt3(events))
    source = RawSource(path, packet_events=64)
    first, second = np.concatenate(list(source)), np.concatenate(list(source))
    np.testing.assert_array_equal(first, second)
    dat = tmp_path / "again.dat"
    dat.write_bytes(encode_dat(events, (640, 480)))
    source = DatSource(dat, packet_events=7)
    packets = []
    for packet in source:
        packets.append(packet)
        source.close()
    assert [len(p) for p in packets] == [7]


@settings(max_examples=80, deadline=None)
@given(
    version=st.sampled_from(["2.0", "2.1", "3.0", None]),
    fmt=st.sampled_from(["evt2", "evt21", "evt3"]),
    data=st.binary(max_size=400),
)
def test_random_words_parse_or_say_why(tmp_path_factory, version, fmt, data):
    """With a header (eventcv for EVT 3.0) or headerless (our decoders, None)."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.raw"
    path.write_bytes((header(version, "2048x2048") if version else b"") + data)
    kw = {} if version else {"format": fmt, "sensor_size": (2048, 2048)}
    try:
        for packet in RawSource(path, **kw):
            assert packet["x"].max() < 2048 and packet["y"].max() < 2048
    except InputFileError as err:
        assert "\n" not in str(err)


def test_format_line_gives_encoding_and_geometry(tmp_path, rng):
    events = _events(rng, 200, (320, 320))
    path = tmp_path / "genx320.raw"
    head = b"% camera_integrator_name Prophesee\n% format EVT21;height=320;width=320\n% end\n"
    path.write_bytes(head + encode_evt21(events))
    out, source = _read(path)
    assert source.format == "evt21" and source.sensor_size == (320, 320)
    assert len(out) == len(events)

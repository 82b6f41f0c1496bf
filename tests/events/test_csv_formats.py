"""t,x,y,p CSV (round trip, fuzzed parser) and format detection by suffix, content and format=."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asa_live.errors import ConfigError, InputFileError
from asa_live.events import open_source
from asa_live.events.cli import main
from asa_live.events.csv_events import CsvSource, write_events_csv
from asa_live.events.formats import detect_format

from .helpers import random_events
from .prophesee_writer import encode_dat, encode_evt2, header


def test_csv_roundtrip_any_packet_size(tmp_path, rng):
    events = random_events(rng, 1000, (346, 260))
    path = tmp_path / "ev.csv"
    write_events_csv(path, events)
    for packet_lines in (1, 37, 5000):
        packets = list(CsvSource(path, (346, 260), packet_lines=packet_lines))
        assert max(len(p) for p in packets) <= packet_lines
        np.testing.assert_array_equal(np.concatenate(packets), events)


def test_csv_columns_in_any_order_and_minus_one_polarity(tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("x,y,polarity,timestamp\n3,4,-1,10\n5,6,1,12\n\n")
    (events,) = list(open_source(path, sensor_size=(8, 8)))
    assert events.tolist() == [(10, 3, 4, 0), (12, 5, 6, 1)]


@pytest.mark.parametrize(
    "text, match",
    [
        ("a,b,c\n1,2,3\n", "header line naming the columns"),
        ("t,x,y,p\n1,2,3\n", "line 2 has 3 fields"),
        ("t,x,y,p\n1,2,3,1\n1,2,x,1\n", "line 3 is not four integers"),
        ("t,x,y,p\n1,2,3,nan\n", "line 2 is not four integers"),
        ("t,x,y,p\n-1,2,3,1\n", "line 2 has a negative time"),
        ("t,x,y,p\n1,2,3,2\n", "polarity other than"),
    ],
)
def test_csv_bad_input(tmp_path, capsys, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputFileError, match=match):
        list(open_source(path, sensor_size="8x8"))
    assert main([str(path), "--sensor-size", "8x8"]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err


def test_csv_needs_sensor_size(tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("t,x,y,p\n1,2,3,1\n")
    with pytest.raises(InputFileError, match="--sensor-size"):
        open_source(path)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(alphabet=st.sampled_from("0123456789,-. \n\tx\r\x00é"), max_size=300))
def test_csv_fuzz_parses_or_says_why(tmp_path, body):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(("t,x,y,p\n" + body).encode("utf-8"))
    try:
        packets = list(CsvSource(path, (65535, 65535), packet_lines=3))
    except InputFileError as err:
        assert "\n" not in str(err)
        return
    for packet in packets:
        assert packet.dtype.names == ("t", "x", "y", "p") and packet["p"].max(initial=0) <= 1


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200))
def test_csv_fuzz_random_bytes(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(b"t,x,y,p\n" + data)
    with contextlib.suppress(InputFileError):
        list(CsvSource(path, (100, 100)))


def test_detect_by_suffix_content_and_override(tmp_path, rng):
    events = random_events(rng, 50, (64, 64))
    files = {
        "a.raw": header("2.0") + encode_evt2(events),
        "a.dat": encode_dat(events, (64, 64)),
        "raw_no_suffix": header("2.0") + encode_evt2(events),
        "dat_no_suffix": encode_dat(events, (64, 64)),
        "csv_no_suffix": b"t,x,y,p\n1,2,3,0\n",
        "numpy.bin": b"\x93NUMPY rest",
        "aedat4.bin": b"#!AER-DAT4.0\r\n",
        "aedat31.bin": b"#!AER-DAT3.1\r\n",
    }
    expected = ["raw", "dat", "raw", "dat", "csv", "npy", "aedat4", "aedat"]
    for (name, data), kind in zip(files.items(), expected, strict=True):
        (tmp_path / name).write_bytes(data)
        assert detect_format(tmp_path / name) == kind, name
    assert detect_format(tmp_path / "a.dat", "EVT3") == "evt3"
    with pytest.raises(ConfigError):
        detect_format(tmp_path / "a.dat", "mp4")
    with pytest.raises(ConfigError, match="states its own sensor size"):
        open_source(tmp_path / "x.aedat4", sensor_size="8x8")


@pytest.mark.parametrize("name", ["a.raw", "a.dat", "a.csv"])
def test_info_for_every_new_format(tmp_path, rng, capsys, name):
    events = random_events(rng, 200, (64, 48))
    path = tmp_path / name
    if name.endswith(".raw"):
        path.write_bytes(header("2.0", "64x48") + encode_evt2(events))
    elif name.endswith(".dat"):
        path.write_bytes(encode_dat(events, (64, 48)))
    else:
        write_events_csv(path, events)
    args = [str(path)] + (["--sensor-size", "64x48"] if name.endswith(".csv") else [])
    assert main(args) == 0
    out = capsys.readouterr().out
    fmt = {"raw": "evt2", "dat": "dat", "csv": "csv"}[name[2:]]
    assert f"format        {fmt}" in out and "64 x 48" in out and "events        200" in out
    on = events["p"].mean()
    assert f"ON fraction   {on:.3f}" in out

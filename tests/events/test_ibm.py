"""AEDAT 3.1 (DVS128 Gesture) reader/writer, labels CSV, trial lists; bad input and fuzzing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asa_live.errors import InputFileError
from asa_live.events import EVENT_DTYPE, make_events
from asa_live.events.ibm import (
    LABEL_DTYPE,
    PACKET_HEADER_DTYPE,
    iter_aedat31,
    read_aedat31,
    read_aedat31_header,
    read_labels_csv,
    read_trial_list,
    write_aedat31,
    write_labels_csv,
)

from .helpers import random_events

HEADER = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def _packet(kind: int, events: np.ndarray, overflow: int = 0, capacity: int | None = None) -> bytes:
    """A hand-built packet (independent of write_aedat31) of raw (data, ts) events."""
    n = len(events)
    header = np.zeros(1, PACKET_HEADER_DTYPE)
    header["type"], header["source"], header["size"], header["ts_offset"] = kind, 1, 8, 4
    header["ts_overflow"] = overflow
    header["capacity"] = n if capacity is None else capacity
    header["number"] = header["valid"] = n
    body = events.astype([("data", "<u4"), ("ts", "<i4")]).tobytes()
    padding = b"\0" * 8 * (int(header["capacity"][0]) - n)
    return header.tobytes() + body + padding


def _raw(x, y, p, ts, valid=1):
    raw = np.zeros(len(ts), [("data", "<u4"), ("ts", "<i4")])
    raw["data"] = (np.asarray(x, np.uint32) << 17) | (np.asarray(y, np.uint32) << 2)
    raw["data"] |= (np.asarray(p, np.uint32) << 1) | np.asarray(valid, np.uint32)
    raw["ts"] = ts
    return raw


def test_round_trip_with_timestamp_overflow(tmp_path, rng):
    events = random_events(rng, 50_000, t_max_us=3 * 2**31)  # crosses two 2^31 us wraps
    path = tmp_path / "rec.aedat"
    write_aedat31(path, events, events_per_packet=777)
    back = read_aedat31(path)
    assert back.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(back, events)
    raw = path.read_bytes()
    assert raw.startswith(b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#Start-Time: ")
    assert b"#!END-HEADER\r\n" in raw


def test_hand_built_file_bit_layout(tmp_path):
    """x in bits 17-31, y in bits 2-16, polarity bit 1, valid bit 0; t = overflow << 31 | ts."""
    raw = _raw([5, 127, 0], [9, 0, 127], [1, 0, 1], [100, 200, 300])
    path = tmp_path / "hand.aedat"
    path.write_bytes(HEADER + _packet(1, raw, overflow=2))
    events = read_aedat31(path)
    np.testing.assert_array_equal(events["x"], [5, 127, 0])
    np.testing.assert_array_equal(events["y"], [9, 0, 127])
    np.testing.assert_array_equal(events["p"], [1, 0, 1])
    np.testing.assert_array_equal(events["t"], (2 << 31) + np.array([100, 200, 300]))


def test_invalid_events_special_packets_and_capacity_padding(tmp_path):
    polarity = _raw([1, 2, 3], [1, 2, 3], [0, 1, 0], [10, 20, 30], valid=[1, 0, 1])
    special = _raw([0], [0], [0], [15])
    path = tmp_path / "mixed.aedat"
    path.write_bytes(HEADER + _packet(0, special) + _packet(1, polarity, capacity=5))
    events = read_aedat31(path)
    np.testing.assert_array_equal(events["t"], [10, 30])  # invalid event and special packet gone
    np.testing.assert_array_equal(events["x"], [1, 3])


def test_streams_in_bounded_packets(tmp_path, rng):
    events = random_events(rng, 10_000)
    path = tmp_path / "big.aedat"
    write_aedat31(path, events, events_per_packet=10_000)  # one file packet
    packets = list(iter_aedat31(path, max_events_per_packet=1000))
    assert [len(p) for p in packets] == [1000] * 10
    np.testing.assert_array_equal(np.concatenate(packets), events)


def test_out_of_sensor_events_are_dropped_with_a_warning(tmp_path):
    raw = _raw([5, 200], [5, 5], [1, 1], [1, 2])
    path = tmp_path / "oob.aedat"
    path.write_bytes(HEADER + _packet(1, raw))
    with pytest.warns(UserWarning, match="dropped 1 events outside the 128x128 sensor"):
        events = read_aedat31(path)
    assert len(events) == 1


def test_header_fields(tmp_path):
    path = tmp_path / "h.aedat"
    write_aedat31(path, make_events([1], [1], [1], [1]), source="DAVIS346")
    header = read_aedat31_header(path)
    assert header.source == "DAVIS346"
    assert header.sensor_size == (346, 260)
    assert header.data_offset == path.read_bytes().index(b"#!END-HEADER\r\n") + 14


def test_empty_recording(tmp_path):
    path = tmp_path / "empty.aedat"
    write_aedat31(path, make_events([], [], [], []))
    assert len(read_aedat31(path)) == 0
    assert list(iter_aedat31(path)) == []


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "not an AEDAT 3.1 file"),
        (b"hello world\n", "not an AEDAT 3.1 file"),
        (b"#!AER-DAT2.0\r\n#!END-HEADER\r\n", "only AEDAT 3.1 is supported"),
        (b"#!AER-DAT3.1\r\n#Format: RAW\r\n", "ends inside its text header"),
        (b"#!AER-DAT3.1\r\nnot a comment\r\n", "does not start with '#'"),
        (HEADER + b"\x01\x00\x08", "ends inside the header of packet 0"),
    ],
)
def test_bad_files_raise_one_sentence(tmp_path, content, match):
    path = tmp_path / "bad.aedat"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=match) as info:
        read_aedat31(path)
    assert "\n" not in str(info.value)


def test_truncated_inside_a_packet(tmp_path, rng):
    path = tmp_path / "t.aedat"
    write_aedat31(path, random_events(rng, 100))
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    with pytest.raises(InputFileError, match="ends inside packet 0 .* truncated"):
        read_aedat31(path)


def test_corrupt_packet_header(tmp_path):
    header = np.zeros(1, PACKET_HEADER_DTYPE)
    header["type"], header["size"], header["capacity"], header["number"] = 1, 8, 2, 5
    path = tmp_path / "c.aedat"
    path.write_bytes(HEADER + header.tobytes() + b"\0" * 16)
    with pytest.raises(InputFileError, match="corrupt packet header"):
        read_aedat31(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_aedat31(tmp_path / "nope.aedat")
    with pytest.raises(InputFileError, match="is not a file"):
        read_aedat31(tmp_path)


def test_writer_rejects_bad_events(tmp_path):
    with pytest.raises(ValueError, match=">= 0"):
        write_aedat31(tmp_path / "x.aedat", make_events([-1], [0], [0], [0]))
    with pytest.raises(ValueError, match="EVENT_DTYPE"):
        write_aedat31(tmp_path / "x.aedat", np.zeros(3))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=600))
def test_fuzz_random_bytes_after_a_valid_header(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fz") / "f.aedat"
    path.write_bytes(HEADER + data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            events = read_aedat31(path)
    except InputFileError as err:
        assert "\n" not in str(err)
    else:
        assert events.dtype == EVENT_DTYPE


@settings(max_examples=150, deadline=None)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_fuzz_mutated_valid_file(tmp_path_factory, flips, cut):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("mut") / "m.aedat"
    write_aedat31(path, random_events(rng, 300), events_per_packet=64)
    data = bytearray(path.read_bytes())
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    path.write_bytes(bytes(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            events = read_aedat31(path)
    except InputFileError as err:
        assert "\n" not in str(err)
    else:
        assert events.dtype == EVENT_DTYPE
        assert len(events) <= 300


# ---------------------------------------------------------------- labels CSV and trial lists

GOOD_CSV = "class,startTime_usec,endTime_usec\n1,100,200\n11,300,450\n"


def test_labels_csv_read_and_round_trip(tmp_path):
    path = tmp_path / "u_labels.csv"
    path.write_text(GOOD_CSV)
    labels = read_labels_csv(path)
    assert labels.dtype == LABEL_DTYPE
    assert labels.tolist() == [(0, 100, 200), (10, 300, 450)]
    out = tmp_path / "again.csv"
    write_labels_csv(out, labels)
    assert out.read_text() == GOOD_CSV
    np.testing.assert_array_equal(read_labels_csv(out), labels)


def test_labels_csv_tolerates_crlf_bom_spaces_and_blank_lines(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"\xef\xbb\xbfclass, startTime_usec ,endTime_usec\r\n\r\n 3 , 5 , 9 \r\n")
    assert read_labels_csv(path).tolist() == [(2, 5, 9)]


def test_labels_csv_bad_rows_are_skipped_with_a_warning_naming_the_line(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(
        "class,startTime_usec,endTime_usec\n"
        "1,100,200\n"  # line 2 ok
        "12,100,200\n"  # line 3 class out of range
        "2,abc,200\n"  # line 4 not an integer
        "3,300,300\n"  # line 5 end not after start
        "4,1,2,3\n"  # line 6 four fields
        "5,-5,10\n"  # line 7 negative time
        "6,400,500\n"
    )
    with pytest.warns(UserWarning) as record:
        labels = read_labels_csv(path)
    assert labels.tolist() == [(0, 100, 200), (5, 400, 500)]
    messages = [str(w.message) for w in record]
    for line in (3, 4, 5, 6, 7):
        assert any(f"line {line} " in m for m in messages), (line, messages)


@pytest.mark.parametrize(
    "content, match",
    [
        ("", "is empty"),
        ("1,100,200\n", "expected the header"),
        ("class,startTime_usec,endTime_usec\n", "has no valid row"),
        ("class,startTime_usec,endTime_usec\n0,1,2\n", "has no valid row"),
    ],
)
def test_labels_csv_unusable_files_raise(tmp_path, content, match):
    path = tmp_path / "l.csv"
    path.write_text(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputFileError, match=match):
            read_labels_csv(path)


def test_labels_csv_binary_and_missing(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputFileError, match="not UTF-8"):
        read_labels_csv(path)
    with pytest.raises(InputFileError, match="does not exist"):
        read_labels_csv(tmp_path / "missing.csv")


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet="0123456789,-\n abc\r", max_size=200))
def test_fuzz_labels_csv(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("csv") / "l.csv"
    path.write_text("class,startTime_usec,endTime_usec\n" + body)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labels = read_labels_csv(path)
    except InputFileError as err:
        assert "\n" not in str(err)
    else:
        assert len(labels) >= 1
        assert ((labels["class_id"] >= 0) & (labels["class_id"] <= 10)).all()
        assert (labels["end_us"] > labels["start_us"]).all()


def test_real_labels_csv(shared_real):
    labels = read_labels_csv(shared_real / "dvsgesture" / "user01_natural_labels.csv")
    assert len(labels) == 12
    assert labels[0].tolist() == (0, 53036986, 59508469)
    assert sorted(set(labels["class_id"].tolist())) == list(range(11))
    assert (labels["class_id"] == 7).sum() == 2  # arm roll labelled twice


def test_trial_list(tmp_path):
    path = tmp_path / "trials_to_train.txt"
    path.write_text("user01_fluorescent.aedat\r\n\r\nuser01_led.aedat\n")
    assert read_trial_list(path) == ["user01_fluorescent.aedat", "user01_led.aedat"]
    path.write_text("\n\n")
    with pytest.raises(InputFileError, match="is empty"):
        read_trial_list(path)
    with pytest.raises(InputFileError, match="does not exist"):
        read_trial_list(tmp_path / "none.txt")

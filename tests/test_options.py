"""Number options: NaN, infinity, garbage and out-of-range values are one line and exit 2."""

from __future__ import annotations

import pytest

from asa_live.options import Parser, float_in, int_in, positive_float


def _parser() -> Parser:
    p = Parser(prog="prog")
    p.add_argument("--s", type=positive_float(100))
    p.add_argument("--r", type=float_in(0, 1))
    p.add_argument("--n", type=int_in(1, 10))
    return p


@pytest.mark.parametrize(
    "argv",
    [
        ["--s", "nan"],
        ["--s", "inf"],
        ["--s", "-inf"],
        ["--s", "0"],
        ["--s", "1e7"],
        ["--s", "abc"],
        ["--r", "1.5"],
        ["--n", "0"],
        ["--n", "2.5"],
        ["--n", "nan"],
    ],
)
def test_bad_numbers_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("prog: ") and "Traceback" not in err


def test_good_numbers_pass():
    ns = _parser().parse_args(["--s", "2.5", "--r", "1", "--n", "10"])
    assert (ns.s, ns.r, ns.n) == (2.5, 1.0, 10)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["--version"])
    assert exc.value.code == 0
    assert "prog 0." in capsys.readouterr().out

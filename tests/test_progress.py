"""Progress: a bar on a terminal, whole lines (no carriage returns) in a log or pipe."""

from __future__ import annotations

import io

from asa_live.progress import progress_bar


def test_non_tty_gets_lines_not_redraws():
    out = io.StringIO()
    bar = progress_bar(total=10, desc="epoch 1/2", stream=out, log_interval_s=0)
    for _ in range(10):
        bar.update(1)
    bar.close()
    text = out.getvalue()
    assert "\r" not in text
    lines = [ln for ln in text.splitlines() if ln]
    assert lines and all(ln.startswith("epoch 1/2") for ln in lines)
    assert "10/10" in lines[-1]


def test_disabled_bar_prints_nothing():
    out = io.StringIO()
    bar = progress_bar(total=3, stream=out, disable=True)
    bar.update(3)
    bar.close()
    assert out.getvalue() == ""


def test_short_phases_print_nothing_off_a_terminal():
    out = io.StringIO()
    bar = progress_bar(total=3, stream=out, log_interval_s=60)
    bar.update(3)
    bar.close()
    assert out.getvalue() == ""

"""The progress bar: shown on a TTY only, silent with --quiet or when piped."""

from __future__ import annotations

import io

from neutralkit.cli import Progress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_tty_draws_and_clears():
    stream = FakeTTY()
    bar = Progress(quiet=False, stream=stream)
    for done in range(1, 4):
        bar(done, 3, "eras")
    bar.close()
    text = stream.getvalue()
    assert "3/3" in text and "#" in text
    assert "\n" not in text  # redrawn in place with \r, never scrolls
    assert text.endswith("\r")


def test_progress_silent_when_quiet_or_not_a_tty():
    for stream, quiet in ((FakeTTY(), True), (io.StringIO(), False)):
        bar = Progress(quiet=quiet, stream=stream)
        bar(1, 2, "eras")
        bar(2, 2, "eras")
        bar.close()
        assert stream.getvalue() == ""

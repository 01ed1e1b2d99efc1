"""Progress bars: on a terminal and with verbose=1, never in notebooks, logs or with --quiet."""

import io
import sys

import numpy as np
import pytest

from anomaly_tutorial import cli, progress
from anomaly_tutorial.detectors import make_detector


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, as a user's shell is."""

    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def _no_forcing(monkeypatch):
    monkeypatch.delenv(progress.ENVIRONMENT_VARIABLE, raising=False)


def test_bars_are_off_unless_asked_for(monkeypatch):
    assert progress.disabled() is True
    assert progress.disabled(verbose=1) is False
    with progress.shown():
        assert progress.disabled() is None  # tqdm draws on a terminal only
        with progress.shown(False):
            assert progress.disabled() is True
    monkeypatch.setenv(progress.ENVIRONMENT_VARIABLE, "0")
    assert progress.disabled(verbose=1) is True
    monkeypatch.setenv(progress.ENVIRONMENT_VARIABLE, "1")
    assert progress.disabled() is False


def test_a_detector_is_silent_by_default_and_shows_epochs_with_verbose_1(capsys):
    images = np.random.default_rng(0).random((20, 8, 8), dtype=np.float32)
    make_detector("deep_svdd", quick=True, epochs=2).fit(images)
    assert capsys.readouterr().err == ""
    make_detector("deep_svdd", quick=True, epochs=2, verbose=1).fit(images)
    err = capsys.readouterr().err
    assert "Training" in err and "2/2" in err and "loss=" in err
    assert "Centre" in err and "Threshold" in err


def test_train_and_score_draw_bars_on_a_terminal(parts, tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = tmp_path / "model"
    words = ["train", "--detector", "deep_svdd", "--quick", "--data", parts, "--out", model]
    assert cli.main([str(word) for word in words]) == 0
    shown = terminal.getvalue()
    for step in ("Checking images", "Training", "epoch", "Centre", "Threshold", "Scoring"):
        assert step in shown, step
    assert "%|" in shown  # tqdm's bar
    words = ["score", "--model", model, parts / "test" / "good", "--out", tmp_path / "s.csv"]
    assert cli.main([str(word) for word in words]) == 0
    assert "Scoring: 100%" in terminal.getvalue()


def test_quiet_turns_bars_and_step_lines_off(parts, tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    words = ["train", "--detector", "hog_ocsvm", "--data", parts, "--out", tmp_path / "m"]
    assert cli.main([str(word) for word in [*words, "--quiet"]]) == 0
    assert terminal.getvalue() == ""


def test_no_bars_when_stderr_is_not_a_terminal(parts, tmp_path, capsys):
    words = ["train", "--detector", "hog_ocsvm", "--data", parts, "--out", tmp_path / "m"]
    assert cli.main([str(word) for word in words]) == 0
    err = capsys.readouterr().err
    assert err.startswith("Training hog_ocsvm on 40 images") and "%|" not in err

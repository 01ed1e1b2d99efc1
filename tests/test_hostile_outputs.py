"""Outputs under hostile conditions (issue 17): races with other programs and other runs, a full
disk, a read-only place, runs killed half-way, outputs aimed into the inputs, ``make-data
--force`` over a user's changes, and the umask.

In every case the outcome is a one-line error naming the path (exit code 2 on the command
line) or a correct result, and no file of the user's is changed. Full disks and read-only file
systems are simulated with a write or ``mkdir`` that raises the error the system would.
"""

import errno
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from anomaly_tutorial import cli, outputs, scoring
from anomaly_tutorial.datasets import bundled, glyphs, textures
from anomaly_tutorial.errors import OutputError


def _cli(*words):
    return cli.main([str(word) for word in words])


def _listed(folder: Path) -> dict:
    manifest = folder / outputs.MANIFEST
    return json.loads(manifest.read_text()) if manifest.exists() else {}


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and err.endswith(errors[0]) and "Traceback" not in err, err
    return errors[0]


def _during_scoring(monkeypatch, action):
    """Run ``action()`` once, while ``score`` scores its images (after it opened its files)."""
    real, done = scoring.score_folder, []

    def score_folder(*args, **kwargs):
        rows = real(*args, **kwargs)
        if not done:
            done.append(True)
            action()
        yield from rows

    monkeypatch.setattr(scoring, "score_folder", score_folder)


# --------------------------------------------------------------------------- races


def test_a_file_created_at_a_new_target_meanwhile_is_never_replaced(tmp_path):
    target = tmp_path / "s.csv"
    with pytest.raises(OutputError, match="s.csv was created by another program"):
        with outputs.staging() as staged:
            staged.write(target, b"ours")
            target.write_bytes(b"theirs")  # another program, between the check and the rename
    assert target.read_bytes() == b"theirs"
    assert "s.csv" not in _listed(tmp_path)  # not listed as ours: --force will not replace it
    assert sorted(path.name for path in tmp_path.iterdir()) == [outputs.MANIFEST, "s.csv"]


def test_a_csv_created_at_out_during_score_is_kept(parts, hog_model, tmp_path, monkeypatch, capsys):
    out = tmp_path / "s.csv"
    _during_scoring(monkeypatch, lambda: out.write_text("the user's own table"))
    assert _cli("score", "--model", hog_model, parts / "test" / "good", "--out", out) == 2
    assert "s.csv was created by another program" in _error_line(capsys)
    assert out.read_text() == "the user's own table"


def test_an_own_csv_edited_during_score_is_not_replaced_even_with_force(
    parts, hog_model, tmp_path, monkeypatch, capsys
):
    out, good = tmp_path / "s.csv", parts / "test" / "good"
    assert _cli("score", "--model", hog_model, good, "--out", out) == 0
    _during_scoring(monkeypatch, lambda: out.write_text("edited by hand meanwhile"))
    assert _cli("score", "--model", hog_model, good, "--out", out, "--force") == 2
    assert "s.csv was changed by another program" in _error_line(capsys)
    assert out.read_text() == "edited by hand meanwhile"
    assert sorted(path.name for path in tmp_path.iterdir()) == [outputs.MANIFEST, "s.csv"]


@pytest.mark.parametrize("force", [False, True])
def test_of_two_concurrent_runs_to_one_out_all_but_one_fail(
    force, parts, hog_model, tmp_path, monkeypatch, capsys
):
    out, good, crack = tmp_path / "s.csv", parts / "test" / "good", parts / "test" / "crack"
    options = ["--force"] if force else []
    if force:  # an earlier run's csv, which both may replace
        assert _cli("score", "--model", hog_model, good, "--out", out) == 0
    second = []
    _during_scoring(
        monkeypatch,
        lambda: second.append(_cli("score", "--model", hog_model, crack, "--out", out, *options)),
    )
    first = _cli("score", "--model", hog_model, good, "--out", out, *options)
    assert (first, second) == (2, [0])  # the one that finished first wins, the other says so
    said = "s.csv was changed by another program" if force else "another program (or another run)"
    assert said in _error_line(capsys)
    assert all("/crack/" in line for line in out.read_text().splitlines()[1:])
    assert outputs._ours(out)  # still listed as this program's: the next --force may replace it


# --------------------------------------------------------------------------- system errors


class _FullDisk:
    """A file whose writes fail as on a full disk (reads and everything else pass through)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stream.close()


def _fill_disk(monkeypatch, text_only=False):
    """Every file opened for writing with ``os.fdopen`` (the outputs' temporary files) hits a
    full disk; ``text_only``: only the manifest (written as text)."""
    real = os.fdopen

    def fdopen(handle, mode="r", *args, **kwargs):
        stream = real(handle, mode, *args, **kwargs)
        full = "w" in mode and (not text_only or "b" not in mode)
        return _FullDisk(stream) if full else stream

    monkeypatch.setattr(os, "fdopen", fdopen)


@pytest.mark.parametrize("where", ["csv", "manifest"])
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(
    where, parts, hog_model, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "new" / "deeper" / "s.csv"
    _fill_disk(monkeypatch, text_only=where == "manifest")
    assert _cli("score", "--model", hog_model, parts / "test" / "good", "--out", out) == 2
    line = _error_line(capsys)
    name = "s.csv" if where == "csv" else outputs.MANIFEST
    assert f"{name}: No space left on device" in line, line
    assert list(tmp_path.iterdir()) == []  # no csv, no temporary file, no folder made for it
    monkeypatch.undo()  # space again: the next run writes, and --force replaces its own file
    assert _cli("score", "--model", hog_model, parts / "test" / "good", "--out", out) == 0
    assert (
        _cli("score", "--model", hog_model, parts / "test" / "good", "--out", out, "--force") == 0
    )


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS, errno.ENOSPC, errno.ENAMETOOLONG])
def test_a_system_error_is_one_line_naming_the_path(
    code, parts, hog_model, tmp_path, monkeypatch, capsys
):
    import tempfile

    def refused(*args, dir=None, **kwargs):
        raise OSError(code, os.strerror(code), str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    out = tmp_path / "s.csv"
    assert _cli("score", "--model", hog_model, parts / "test" / "good", "--out", out) == 2
    assert f"{tmp_path}: {os.strerror(code)}." in _error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_non_utf8_out_is_printed_under_a_strict_stdout(parts, hog_model, tmp_path, monkeypatch):
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    out = tmp_path / os.fsdecode(b"r\xe9sultats.csv")
    assert _cli("score", "--model", hog_model, parts / "test" / "good", "--out", out) == 0
    assert out.is_file()
    stdout.flush()
    assert "r\\xe9sultats.csv" in stdout.buffer.getvalue().decode("utf-8")


def test_make_data_onto_a_read_only_place_is_one_line(tmp_path, monkeypatch, capsys):
    real = Path.mkdir

    def mkdir(path, *args, **kwargs):
        if tmp_path / "readonly" in (path, *path.parents):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert _cli("make-data", "--out", tmp_path / "readonly" / "data") == 2
    assert f"{tmp_path / 'readonly'}: Read-only file system" in _error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_make_data_removes_the_folders_it_made(tmp_path, monkeypatch, capsys):
    def full(category):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f"{category}/000.png")

    monkeypatch.setattr(textures, "make_textures", full)
    assert _cli("make-data", "--out", tmp_path / "new" / "data") == 2
    assert "No space left on device" in _error_line(capsys)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- leftovers


_KILLED_WHILE_RENAMING = """
import os, sys
from anomaly_tutorial import outputs
outputs.rename_new = lambda source, target: os._exit(9)  # kill -9 at the worst moment
outputs.write_files({sys.argv[1]: b"second"}, force=True)
"""


def test_a_run_killed_midway_leaves_its_file_listed_and_its_temporaries_are_removed(tmp_path):
    target = tmp_path / "k.csv"
    outputs.write_files({target: b"first"})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    code = textwrap.dedent(_KILLED_WHILE_RENAMING)
    killed = subprocess.run([sys.executable, "-c", code, str(target)], env=env, timeout=120)
    assert killed.returncode == 9
    left = [path.name for path in tmp_path.iterdir() if path.name.startswith(outputs.PREFIX)]
    assert len(left) == 1  # the killed run's temporary file
    assert target.read_bytes() == b"first"
    outputs.write_files({target: b"third"}, force=True)  # still ours: replaced; leftover gone
    assert target.read_bytes() == b"third"
    assert sorted(path.name for path in tmp_path.iterdir()) == [outputs.MANIFEST, "k.csv"]


def test_temporary_files_of_running_processes_are_left_alone(tmp_path):
    alive = tmp_path / f"{outputs.PREFIX}{os.getppid()}.abc"
    alive.write_bytes(b"another run's, still being written")
    outputs.write_files({tmp_path / "a.csv": b"1"})
    assert alive.exists()


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_outputs_follow_the_umask(mask, tmp_path, monkeypatch):
    monkeypatch.setattr(bundled, "DATA_DIR", tmp_path / "absent")
    monkeypatch.setenv("ANOMALY_TUTORIAL_DATA", str(tmp_path / "cache"))
    previous = os.umask(mask)
    try:
        outputs.write_files({tmp_path / "sub" / "a.csv": b"1"})
        cached = bundled.generated_folder(
            "glyphs",
            1,
            ready=lambda folder: (folder / "done").is_file(),
            generate=lambda folder: (folder / "done").write_text("yes"),
        )
    finally:
        os.umask(previous)
    assert (tmp_path / "sub" / "a.csv").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "sub" / outputs.MANIFEST).stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "sub").stat().st_mode & 0o777 == 0o777 & ~mask
    assert cached.stat().st_mode & 0o777 == 0o777 & ~mask


# --------------------------------------------------------------------------- outputs into inputs


def test_overlays_of_dot_dot_land_inside_maps(tmp_path, monkeypatch):
    from anomaly_tutorial import persistence
    from anomaly_tutorial.detectors import make_detector

    images = np.random.default_rng(0).random((12, 16, 16), dtype=np.float32)
    model = tmp_path / "ae"
    persistence.save(make_detector("conv_autoencoder", quick=True, epochs=1).fit(images), model)
    folder = tmp_path / "photos"
    (folder / ".run").mkdir(parents=True)  # a hidden folder: the loader skips it
    import imageio.v3 as iio

    for index in range(2):
        iio.imwrite(folder / f"{index}.png", (images[index] * 255).astype(np.uint8))
    monkeypatch.chdir(folder / ".run")
    maps, out = tmp_path / "maps", tmp_path / "s.csv"
    assert _cli("score", "--model", model, "..", "--maps", maps, "--out", out) == 0
    written = sorted(path.relative_to(maps).as_posix() for path in maps.rglob("*.png"))
    assert written == ["photos/0_map.png", "photos/1_map.png"]
    assert {path.name for path in tmp_path.iterdir()} == {
        "ae", "maps", "photos", "s.csv", outputs.MANIFEST
    }  # fmt: skip


# --------------------------------------------------------------------------- make-data --force


@pytest.fixture
def small_generators(monkeypatch):
    """The generators at a few images per folder (the real ones take a minute)."""
    monkeypatch.setattr(glyphs, "PER_CLASS", 2)
    monkeypatch.setattr(textures, "N_TRAIN", 3)
    monkeypatch.setattr(textures, "N_GOOD", {"dev": 1, "test": 1})
    monkeypatch.setattr(textures, "N_PER_DEFECT", {"dev": 1, "test": 1})


def _tree(root: Path) -> dict:
    return {
        path.relative_to(root).as_posix(): (path.lstat().st_ino, path.lstat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
    }


def test_make_data_force_never_replaces_an_image_whose_pixels_the_user_changed(
    small_generators, tmp_path
):
    import imageio.v3 as iio

    glyphs.generate_glyphs(tmp_path / "glyphs")
    mine = tmp_path / "glyphs" / "3" / "001.png"
    iio.imwrite(mine, np.full((28, 28), 200, np.uint8))  # same name, the user's pixels
    before = mine.read_bytes()
    with pytest.raises(FileExistsError, match=r"pixels were changed since: 3/001.png"):
        glyphs.generate_glyphs(tmp_path / "glyphs", force=True)
    assert mine.read_bytes() == before


def test_make_data_force_never_removes_a_users_folder_or_link_and_says_what_they_are(
    small_generators, tmp_path
):
    textures.generate_textures(tmp_path, categories=("brick",))
    brick = tmp_path / "brick"
    (brick / "test" / "mine").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (brick / "link").symlink_to(tmp_path / "elsewhere")
    before = _tree(brick)
    with pytest.raises(FileExistsError) as refused:
        textures.generate_textures(tmp_path, categories=("brick",), force=True)
    message = str(refused.value)
    assert "link (a symbolic link to a folder)" in message
    assert "test/mine (a folder)" in message
    assert _tree(brick) == before


def test_make_data_reports_what_it_changed_and_a_refusal_changes_nothing(
    small_generators, tmp_path, capsys
):
    data = tmp_path / "data"
    assert _cli("make-data", "--out", data) == 0
    first = capsys.readouterr().out
    assert "Wrote the texture data to" in first and " new." in first
    assert _cli("make-data", "--out", data, "--force") == 0
    again = capsys.readouterr().out
    assert "unchanged." in again and "new" not in again and "changed," not in again
    (data / "glyphs" / "notes.txt").write_text("mine")
    before = _tree(data)
    assert _cli("make-data", "--out", data, "--force") == 2
    assert "notes.txt (a file)" in _error_line(capsys)
    assert _tree(data) == before  # the textures were not replaced before the glyphs refused

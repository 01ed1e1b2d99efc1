"""Output files: written whole or not at all, and only this program's own files are replaced."""

import pytest

from anomaly_tutorial import outputs
from anomaly_tutorial.errors import OutputError


def test_files_are_written_and_listed_in_the_folders_manifest(tmp_path):
    outputs.write_files({tmp_path / "a.csv": b"1", tmp_path / "sub" / "b.png": b"2"})
    assert (tmp_path / "a.csv").read_bytes() == b"1"
    assert (tmp_path / "sub" / "b.png").read_bytes() == b"2"
    assert (tmp_path / outputs.MANIFEST).is_file() and (
        tmp_path / "sub" / outputs.MANIFEST
    ).is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == [outputs.MANIFEST, "a.csv", "sub"]


def test_own_files_are_replaced_only_with_force_and_a_users_never(tmp_path):
    target = tmp_path / "a.csv"
    outputs.write_files({target: b"first"})
    with pytest.raises(OutputError, match="Use --force"):
        outputs.write_files({target: b"second"})
    outputs.write_files({target: b"second"}, force=True)
    assert target.read_bytes() == b"second"
    target.write_bytes(b"edited by hand")
    with pytest.raises(OutputError, match="not written by anomaly-tutorial"):
        outputs.write_files({target: b"third"}, force=True)
    (tmp_path / "mine.png").write_bytes(b"mine")
    with pytest.raises(OutputError, match="not written by anomaly-tutorial"):
        outputs.write_files({tmp_path / "mine.png": b"x"}, force=True)
    assert target.read_bytes() == b"edited by hand"
    assert (tmp_path / "mine.png").read_bytes() == b"mine"


def test_a_failure_while_writing_leaves_everything_as_it_was(tmp_path):
    outputs.write_files({tmp_path / "a.csv": b"old"})
    before = sorted(path.name for path in tmp_path.iterdir())
    with pytest.raises(TypeError):
        outputs.write_files(
            {tmp_path / "a.csv": b"new", tmp_path / "new" / "b.png": "not bytes"}, force=True
        )
    assert (tmp_path / "a.csv").read_bytes() == b"old"
    assert sorted(path.name for path in tmp_path.iterdir()) == before  # no temporary, no folder


def test_checking_targets_creates_nothing_and_refuses_folders_and_files_as_folders(tmp_path):
    outputs.check_targets([tmp_path / "new" / "deeper" / "a.csv"])
    assert not (tmp_path / "new").exists()
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputError, match="it is a folder"):
        outputs.check_targets([tmp_path / "folder"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        outputs.check_targets([tmp_path / "file" / "a.csv"])


def test_a_symlink_is_never_replaced(tmp_path):
    (tmp_path / "real.csv").write_text("precious")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    with pytest.raises(OutputError, match="not written by anomaly-tutorial"):
        outputs.write_files({tmp_path / "link.csv": b"x"}, force=True)
    assert (tmp_path / "real.csv").read_text() == "precious"

"""The bundled glyph images: the committed files match their manifest and regenerate exactly."""

import json

import imageio.v3 as iio
import numpy as np
import pytest

from anomaly_tutorial.datasets import bundled, glyphs

FOLDER = bundled.DATA_DIR / "glyphs"


@pytest.fixture(scope="module")
def manifest():
    return json.loads((FOLDER / bundled.MANIFEST).read_text())


def test_committed_glyph_files_match_the_manifest(manifest):
    assert manifest["generator_version"] == glyphs.GENERATOR_VERSION
    on_disk = {path.relative_to(FOLDER).as_posix() for path in FOLDER.rglob("*.png")}
    assert on_disk == set(manifest["files"])
    assert len(on_disk) == len(glyphs.CLASSES) * glyphs.PER_CLASS
    for name, entry in manifest["files"].items():
        assert bundled.pixel_hash(iio.imread(FOLDER / name)) == entry["sha256"], name
        assert entry["font"] in glyphs.FONTS


@pytest.mark.parametrize("character", ["1", "8"])
def test_regenerating_a_class_reproduces_its_pixels_and_fonts(character, manifest):
    images, fonts = glyphs.make_glyphs(character)
    for number, (image, font) in enumerate(zip(images, fonts, strict=True)):
        entry = manifest["files"][f"{character}/{number:03d}.png"]
        assert (bundled.pixel_hash(image), font) == (entry["sha256"], entry["font"])


def test_a_glyph_is_white_ink_on_black_centred_in_28x28():
    image = glyphs.draw_glyph("5", "DejaVuSans", np.random.default_rng(0))
    assert image.shape == (28, 28) and image.dtype == np.uint8
    assert image[:3].max() == 0 and image.max() > 200
    rows, cols = np.nonzero(image > 127)
    assert abs(rows.mean() - 13.5) < 2 and abs(cols.mean() - 13.5) < 2


def test_forced_regeneration_never_deletes_a_users_file(tmp_path, monkeypatch):
    monkeypatch.setattr(glyphs, "PER_CLASS", 2)
    glyphs.generate_glyphs(tmp_path / "glyphs")
    (tmp_path / "glyphs" / "3" / "mine.png").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="mine.png"):
        glyphs.generate_glyphs(tmp_path / "glyphs", force=True)
    assert (tmp_path / "glyphs" / "3" / "mine.png").read_bytes() == b"precious"
    (tmp_path / "glyphs" / "3" / "mine.png").unlink()
    glyphs.generate_glyphs(tmp_path / "glyphs", force=True)
    assert len(list((tmp_path / "glyphs").rglob("*.png"))) == 20

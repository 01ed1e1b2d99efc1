"""The bundled texture data: counts, determinism against the manifest, disjoint regions,
visible defects with exact masks, and the cache used by an installed package."""

import json

import imageio.v3 as iio
import numpy as np
import pytest
import skimage.data

from anomaly_tutorial.datasets import TEXTURE_CATEGORIES, load_folder, load_textures, textures

TEXTURES = textures.DATA_DIR / "textures"
PATCH = textures.PATCH


@pytest.fixture(scope="module")
def manifest():
    return json.loads((TEXTURES / textures.MANIFEST).read_text())


def _hashes(root, names):
    return {name: textures.pixel_hash(iio.imread(root / name)) for name in names}


@pytest.mark.parametrize("category", TEXTURE_CATEGORIES)
def test_textures_have_the_promised_counts_shapes_and_masks(category):
    dataset = load_textures(category)
    assert dataset.name == category
    assert dataset.train_images.shape[1:] == (64, 64, 1)
    assert len(dataset.train_images) >= 200
    assert (dataset.test_defects == "good").sum() >= 60
    assert len(dataset.defect_types) >= 4
    for defect in dataset.defect_types:
        assert (dataset.test_defects == defect).sum() >= 20
    anomalous = dataset.test_labels == 1
    assert not dataset.test_masks[~anomalous].any()
    assert dataset.test_masks[anomalous].sum(axis=(1, 2)).min() >= textures.MIN_AREA


def test_committed_texture_files_match_the_manifest(manifest):
    assert manifest["generator_version"] == textures.GENERATOR_VERSION
    on_disk = {path.relative_to(TEXTURES).as_posix() for path in TEXTURES.rglob("*.png")}
    assert on_disk == set(manifest["files"])
    expected = {name: entry["sha256"] for name, entry in manifest["files"].items()}
    assert _hashes(TEXTURES, expected) == expected


def test_regenerating_textures_reproduces_the_manifest(tmp_path, manifest):
    regenerated = textures.generate_textures(tmp_path)
    assert regenerated["files"] == manifest["files"]
    expected = {name: entry["sha256"] for name, entry in manifest["files"].items()}
    assert _hashes(tmp_path, expected) == expected
    assert json.loads((tmp_path / textures.MANIFEST).read_text()) == manifest


def test_train_and_test_patches_come_from_disjoint_photo_rows(manifest):
    rows = {"train": [], "test": []}
    for name, entry in manifest["files"].items():
        if "origin" in entry:
            rows[name.split("/")[1]].append(entry["origin"][0])
    assert len(rows["train"]) >= 3 * 200
    last_train_row = max(rows["train"]) + PATCH - 1
    first_test_row = min(rows["test"])
    assert first_test_row - last_train_row > PATCH  # a gap of at least one patch


@pytest.mark.parametrize("category", TEXTURE_CATEGORIES)
def test_patches_are_the_photo_at_their_recorded_origin(category, manifest):
    photo = getattr(skimage.data, category)()
    for name, entry in manifest["files"].items():
        if name.startswith(f"{category}/") and "/good/" in name:
            row, col = entry["origin"]
            crop = photo[row : row + PATCH, col : col + PATCH]
            np.testing.assert_array_equal(iio.imread(TEXTURES / name), crop, err_msg=name)


@pytest.mark.parametrize("category", TEXTURE_CATEGORIES)
def test_defects_change_only_masked_pixels_and_change_them_visibly(category, manifest):
    photo = getattr(skimage.data, category)().astype(int)
    for name, entry in manifest["files"].items():
        parts = name.split("/")
        if parts[0] != category or parts[1] != "test" or parts[2] == "good":
            continue
        row, col = entry["origin"]
        base = photo[row : row + PATCH, col : col + PATCH]
        change = np.abs(iio.imread(TEXTURES / name) - base)
        mask_name = f"{category}/ground_truth/{parts[2]}/{parts[3][:-4]}_mask.png"
        mask = iio.imread(TEXTURES / mask_name) > 127
        assert change[~mask].max() < textures.NOTICEABLE, name
        assert change[mask].mean() >= textures.MIN_MEAN_CHANGE, name
        assert change[mask].mean() >= textures.MIN_CONTRAST * base.std(), name


def test_generate_textures_refuses_a_non_empty_folder_without_force(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="force=True"):
        textures.generate_textures(tmp_path, categories=("brick",))
    assert (tmp_path / "keep.txt").exists()


def test_unknown_texture_category_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="brick, grass, gravel"):
        load_textures("marble")
    with pytest.raises(ValueError, match="Unknown texture category"):
        textures.generate_textures(tmp_path, categories=("marble",))


def test_without_repository_data_textures_are_generated_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(textures, "DATA_DIR", tmp_path / "no-data")
    monkeypatch.setenv("ANOMALY_TUTORIAL_DATA", str(tmp_path / "cache"))
    dataset = load_textures("gravel")
    folder = textures.texture_folder("gravel")
    assert folder.is_relative_to(tmp_path / "cache")
    assert dataset.train_paths[0].startswith(str(folder))
    stamp = (folder / "train" / "good" / "000.png").stat().st_mtime_ns
    again = load_textures("gravel")  # reuses the cache instead of regenerating
    assert (folder / "train" / "good" / "000.png").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again.test_images, dataset.test_images)
    bundled = load_folder(TEXTURES / "gravel")
    np.testing.assert_array_equal(dataset.test_masks, bundled.test_masks)
    assert not [path for path in folder.parent.iterdir() if path.name.startswith(".")]

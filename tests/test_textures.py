"""The bundled texture data: counts, determinism against the manifest, disjoint regions,
visible defects with exact masks, and the cache used by an installed package."""

import json

import imageio.v3 as iio
import numpy as np
import pytest
import skimage.data

from anomaly_tutorial.datasets import (
    TEXTURE_CATEGORIES,
    bundled,
    defects,
    load_folder,
    load_textures,
    textures,
)

TEXTURES = bundled.DATA_DIR / "textures"
PATCH = textures.PATCH


@pytest.fixture(scope="module")
def manifest():
    return json.loads((TEXTURES / textures.MANIFEST).read_text())


def _hashes(root, names):
    return {name: bundled.pixel_hash(iio.imread(root / name)) for name in names}


@pytest.mark.parametrize("category", TEXTURE_CATEGORIES)
@pytest.mark.parametrize("part", ["dev", "test"])
def test_textures_have_the_promised_counts_shapes_and_masks(category, part):
    dataset = load_textures(category, part)
    assert dataset.name == category
    assert dataset.train_images.shape == (textures.N_TRAIN, 64, 64, 1)
    assert (dataset.test_defects == "good").sum() == textures.N_GOOD[part]
    assert dataset.defect_types == tuple(sorted(textures.PART_KINDS[part]))
    for defect in dataset.defect_types:
        assert (dataset.test_defects == defect).sum() == textures.N_PER_DEFECT[part]
    anomalous = dataset.test_labels == 1
    assert not dataset.test_masks[~anomalous].any()
    assert dataset.test_masks[anomalous].sum(axis=(1, 2)).min() >= 30
    assert all(f"/{part}_" in path for path in dataset.test_paths)


def test_the_parts_hold_disjoint_defect_kinds_and_every_painter_is_used():
    dev, test = (set(textures.PART_KINDS[part]) for part in ("dev", "test"))
    assert not dev & test
    assert dev | test == set(defects.PAINTERS) == set(defects.VISIBILITY)


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


def test_dev_and_test_patches_come_from_disjoint_photo_columns(manifest):
    columns = {"dev": [], "test": []}
    for name, entry in manifest["files"].items():
        if name.split("/")[1] == "test":
            columns[name.rsplit("/", 1)[1].split("_")[0]].append(entry["origin"][1])
    assert len(columns["dev"]) == 3 * (60 + 7 * 20)
    assert len(columns["test"]) == 3 * (60 + 4 * 25)
    assert max(columns["dev"]) + PATCH <= min(columns["test"])  # no pixel in both parts


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
        min_area, min_change, min_contrast = defects.VISIBILITY[parts[2]]
        assert change[~mask].max() < textures.NOTICEABLE, name
        assert mask.sum() >= min_area, name
        assert change[mask].mean() >= max(min_change, min_contrast * base.std()), name


def test_generate_textures_refuses_an_existing_category_without_force(tmp_path):
    textures.generate_textures(tmp_path, categories=("brick",))
    with pytest.raises(FileExistsError, match="force=True"):
        textures.generate_textures(tmp_path, categories=("brick",))
    textures.generate_textures(tmp_path, categories=("brick",), force=True)
    assert load_folder(tmp_path / "brick").train_images.shape[0] == textures.N_TRAIN


def test_forced_regeneration_never_deletes_a_users_file(tmp_path):
    textures.generate_textures(tmp_path, categories=("grass",))
    own = tmp_path / "grass" / "train" / "good" / "my_photo.png"
    own.write_bytes(b"precious")
    before = sorted(path for path in tmp_path.rglob("*"))
    with pytest.raises(FileExistsError, match="did not write.*my_photo.png.*Nothing was changed"):
        textures.generate_textures(tmp_path, categories=("grass",), force=True)
    assert own.read_bytes() == b"precious"
    assert sorted(path for path in tmp_path.rglob("*")) == before


def test_generating_one_category_keeps_the_others_and_their_manifest_entries(tmp_path):
    first = textures.generate_textures(tmp_path, categories=("brick",))
    second = textures.generate_textures(tmp_path, categories=("gravel",))
    assert set(first["files"]) < set(second["files"])
    assert (tmp_path / "brick" / "train" / "good" / "000.png").is_file()


def test_unknown_texture_category_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="brick, grass, gravel"):
        load_textures("marble")
    with pytest.raises(ValueError, match="Unknown texture category"):
        textures.generate_textures(tmp_path, categories=("marble",))


def test_without_repository_data_textures_are_generated_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(bundled, "DATA_DIR", tmp_path / "no-data")
    monkeypatch.setenv("ANOMALY_TUTORIAL_DATA", str(tmp_path / "cache"))
    dataset = load_textures("gravel")
    folder = textures.texture_folder("gravel")
    assert folder.is_relative_to(tmp_path / "cache")
    assert dataset.train_paths[0].startswith(str(folder))
    stamp = (folder / "train" / "good" / "000.png").stat().st_mtime_ns
    again = load_textures("gravel")  # reuses the cache instead of regenerating
    assert (folder / "train" / "good" / "000.png").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again.test_images, dataset.test_images)
    monkeypatch.undo()
    from_repository = load_textures("gravel")
    np.testing.assert_array_equal(dataset.test_masks, from_repository.test_masks)
    assert not [path for path in folder.parent.iterdir() if path.name.startswith(".")]

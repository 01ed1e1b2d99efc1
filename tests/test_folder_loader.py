"""The MVTec-layout folder loader: what it reads, and the clear errors for bad folders."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from anomaly_tutorial.datasets import DatasetError, load_folder, read_images, write_folder

SIZE = 12


def _image(value, size=(SIZE, SIZE), channels=None):
    rng = np.random.default_rng(value)
    shape = size if channels is None else (*size, channels)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def _mask(size=(SIZE, SIZE)):
    mask = np.zeros(size, dtype=np.uint8)
    mask[2:5, 3:7] = 255
    return mask


def _write(path: Path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, pixels)


@pytest.fixture
def folder(tmp_path):
    """A tiny valid dataset: 3 train, 2 good test, 2 scratch and 1 dent with masks."""
    root = tmp_path / "parts"
    for index in range(3):
        _write(root / "train" / "good" / f"{index:03d}.png", _image(index))
    for index in range(2):
        _write(root / "test" / "good" / f"{index:03d}.png", _image(10 + index))
        _write(root / "test" / "scratch" / f"{index:03d}.png", _image(20 + index))
        _write(root / "ground_truth" / "scratch" / f"{index:03d}_mask.png", _mask())
    _write(root / "test" / "dent" / "000.png", _image(30))
    _write(root / "ground_truth" / "dent" / "000_mask.png", _mask())
    return root


def test_loader_reads_train_test_labels_defects_and_masks(folder):
    dataset = load_folder(folder)
    assert dataset.name == "parts"
    assert dataset.train_images.shape == (3, SIZE, SIZE, 1)
    assert dataset.train_images.dtype == np.float32
    assert dataset.test_images.shape == (5, SIZE, SIZE, 1)
    assert dataset.test_defects.tolist() == ["good", "good", "dent", "scratch", "scratch"]
    assert dataset.test_labels.tolist() == [0, 0, 1, 1, 1]
    assert dataset.defect_types == ("dent", "scratch")
    assert dataset.test_masks.shape == (5, SIZE, SIZE)
    assert not dataset.test_masks[:2].any()
    assert dataset.test_masks[2:].sum(axis=(1, 2)).tolist() == [12, 12, 12]
    np.testing.assert_allclose(dataset.train_images[1, ..., 0], _image(1) / 255, atol=1e-6)
    assert Path(dataset.test_paths[2]) == folder / "test" / "dent" / "000.png"


def test_loader_reads_files_in_natural_order(tmp_path):
    for name in ("10", "9", "1"):
        _write(tmp_path / "d" / "train" / "good" / f"{name}.png", _image(int(name)))
    dataset = load_folder(tmp_path / "d")
    assert [Path(path).stem for path in dataset.train_paths] == ["1", "9", "10"]


def test_loader_without_ground_truth_gives_no_masks(folder):
    import shutil

    shutil.rmtree(folder / "ground_truth")
    assert load_folder(folder).test_masks is None


def test_loader_accepts_folder_with_only_train_good(tmp_path):
    _write(tmp_path / "d" / "train" / "good" / "a.png", _image(0))
    dataset = load_folder(tmp_path / "d")
    assert dataset.test_images.shape == (0, SIZE, SIZE, 1)
    assert dataset.test_labels.shape == (0,)


def test_loader_accepts_empty_test_and_ground_truth_folders(tmp_path):
    _write(tmp_path / "d" / "train" / "good" / "a.png", _image(0))
    (tmp_path / "d" / "test").mkdir()
    (tmp_path / "d" / "ground_truth").mkdir()
    assert len(load_folder(tmp_path / "d").test_images) == 0


def test_loader_ignores_hidden_and_system_files(folder):
    (folder / "train" / "good" / ".DS_Store").write_bytes(b"\0")
    (folder / "train" / "good" / "Thumbs.db").write_bytes(b"\0")
    assert len(load_folder(folder).train_images) == 3


def test_loader_never_writes_into_the_folder(folder):
    def snapshot():
        return {path: (path.stat().st_mtime_ns, path.stat().st_size) for path in folder.rglob("*")}

    before = snapshot()
    load_folder(folder, resize=(8, 8), color="rgb")
    assert snapshot() == before


def test_loader_converts_color_and_drops_alpha(tmp_path):
    rgba = _image(1, channels=4)
    _write(tmp_path / "d" / "train" / "good" / "a.png", rgba)
    dataset = load_folder(tmp_path / "d")
    assert dataset.train_images.shape == (1, SIZE, SIZE, 3)
    np.testing.assert_allclose(dataset.train_images[0], rgba[..., :3] / 255, atol=1e-6)
    assert load_folder(tmp_path / "d", color="gray").train_images.shape == (1, SIZE, SIZE, 1)


def test_loader_scales_16_bit_images(tmp_path):
    pixels = np.full((SIZE, SIZE), 65535, dtype=np.uint16)
    pixels[0, 0] = 0
    _write(tmp_path / "d" / "train" / "good" / "a.png", pixels)
    image = load_folder(tmp_path / "d").train_images[0, ..., 0]
    assert image[0, 0] == 0.0 and image[1, 1] == pytest.approx(1.0)


def test_loader_resizes_images_and_masks(folder):
    _write(folder / "train" / "good" / "big.png", _image(5, size=(24, 20)))
    dataset = load_folder(folder, resize=(6, 6))
    assert dataset.train_images.shape == (4, 6, 6, 1)
    assert dataset.test_masks.shape == (5, 6, 6)
    assert dataset.test_masks.dtype == bool
    assert dataset.test_masks[2].any()


def test_loader_rejects_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_folder(tmp_path / "nowhere")


def test_loader_rejects_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DatasetError, match="is not a folder"):
        load_folder(tmp_path / "file.txt")


def test_loader_rejects_folder_without_train_good(folder):
    (folder / "train" / "good").rename(folder / "train" / "normal")
    with pytest.raises(DatasetError, match="missing train/good"):
        load_folder(folder)


def test_loader_rejects_empty_train_good(tmp_path):
    (tmp_path / "d" / "train" / "good").mkdir(parents=True)
    (tmp_path / "d" / "train" / "good" / ".hidden").write_text("x")
    with pytest.raises(DatasetError, match="contains no images"):
        load_folder(tmp_path / "d")


def test_loader_rejects_corrupt_image(folder):
    (folder / "train" / "good" / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(DatasetError, match=r"broken\.png: cannot read"):
        load_folder(folder)


def test_loader_rejects_truncated_image(folder):
    valid = (folder / "test" / "good" / "000.png").read_bytes()
    (folder / "test" / "good" / "002.png").write_bytes(valid[: len(valid) // 2])
    with pytest.raises(DatasetError, match=r"002\.png: cannot read"):
        load_folder(folder)


def test_loader_rejects_non_image_file(folder):
    (folder / "test" / "good" / "notes.txt").write_text("to do")
    with pytest.raises(DatasetError, match=r"notes\.txt: not an image file") as raised:
        load_folder(folder)
    assert str(raised.value).endswith(f"Move it out of {folder / 'test' / 'good'}.")


def test_loader_rejects_loose_files_in_test(folder):
    _write(folder / "test" / "loose.png", _image(0))
    with pytest.raises(DatasetError, match="sub-folders"):
        load_folder(folder)


def test_loader_rejects_mixed_sizes_and_suggests_resize(folder):
    _write(folder / "test" / "good" / "big.png", _image(0, size=(20, 16)))
    with pytest.raises(DatasetError, match=r"big\.png.*mixed sizes.*resize=\(H, W\)"):
        load_folder(folder)


def test_loader_rejects_mixed_channels_and_suggests_color(folder):
    _write(folder / "train" / "good" / "rgb.png", _image(0, channels=3))
    with pytest.raises(DatasetError, match=r"rgb\.png.*color='gray'"):
        load_folder(folder)
    assert load_folder(folder, color="rgb").train_images.shape[-1] == 3


def test_loader_rejects_mask_without_image(folder):
    _write(folder / "ground_truth" / "scratch" / "007_mask.png", _mask())
    with pytest.raises(DatasetError, match=r"007_mask\.png: mask has no matching image"):
        load_folder(folder)


def test_loader_rejects_masks_for_a_defect_without_test_folder(folder):
    _write(folder / "ground_truth" / "burn" / "000_mask.png", _mask())
    with pytest.raises(DatasetError, match="no matching image test/burn"):
        load_folder(folder)


def test_loader_rejects_defect_image_without_mask(folder):
    (folder / "ground_truth" / "scratch" / "001_mask.png").unlink()
    with pytest.raises(DatasetError, match=r"scratch.001\.png: defect image has no mask"):
        load_folder(folder)


def test_loader_rejects_mask_with_another_size_than_its_image(folder):
    _write(folder / "ground_truth" / "dent" / "000_mask.png", _mask(size=(SIZE, 2 * SIZE)))
    with pytest.raises(DatasetError, match=r"000_mask\.png: mask is 12x24 pixels"):
        load_folder(folder)


@pytest.mark.parametrize(
    ("option", "value"), [("resize", (0, 5)), ("resize", 8), ("color", "grey")]
)
def test_loader_rejects_bad_options(folder, option, value):
    with pytest.raises(ValueError, match=option):
        load_folder(folder, **{option: value})


def test_loader_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError)


def test_read_images_reads_files_and_folders_in_order(folder):
    images, paths = read_images(
        [folder / "test" / "scratch", folder / "train" / "good" / "000.png"]
    )
    assert images.shape == (3, SIZE, SIZE, 1)
    assert [Path(path).name for path in paths] == ["000.png", "001.png", "000.png"]
    single, _ = read_images(str(folder / "train" / "good" / "001.png"), color="rgb")
    assert single.shape == (1, SIZE, SIZE, 3)


def test_read_images_applies_the_loader_checks(folder, tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_images(tmp_path / "missing.png")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="not an image file"):
        read_images(tmp_path / "notes.txt")
    _write(tmp_path / "big.png", _image(0, size=(20, 20)))
    with pytest.raises(DatasetError, match="mixed sizes"):
        read_images([folder / "train" / "good", tmp_path / "big.png"])
    with pytest.raises(DatasetError, match="no paths"):
        read_images([])


def test_write_folder_round_trips_through_load_folder(folder, tmp_path):
    original = load_folder(folder)
    written = write_folder(original, tmp_path / "copy")
    copy = load_folder(written)
    np.testing.assert_array_equal(copy.train_images, original.train_images)
    np.testing.assert_array_equal(copy.test_images, original.test_images)
    np.testing.assert_array_equal(copy.test_defects, original.test_defects)
    np.testing.assert_array_equal(copy.test_masks, original.test_masks)
    assert (written / "ground_truth" / "dent" / "000_mask.png").is_file()


def test_write_folder_keeps_test_file_names(folder, tmp_path):
    original = load_folder(folder)
    (folder / "test" / "dent" / "000.png").rename(folder / "test" / "dent" / "dent_7.png")
    (folder / "ground_truth" / "dent" / "000_mask.png").rename(
        folder / "ground_truth" / "dent" / "dent_7_mask.png"
    )
    written = write_folder(load_folder(folder), tmp_path / "copy")
    assert (written / "test" / "dent" / "dent_7.png").is_file()
    assert (written / "ground_truth" / "dent" / "dent_7_mask.png").is_file()
    assert len(load_folder(written).test_images) == len(original.test_images)


def test_write_folder_never_writes_over_an_existing_dataset(folder, tmp_path):
    dataset = load_folder(folder)
    target = write_folder(dataset, tmp_path / "copy")
    before = sorted(path.name for path in (target / "train" / "good").iterdir())
    with pytest.raises(DatasetError, match="already holds train, test, ground_truth"):
        write_folder(dataset.subset(n_train=1, n_test_per_type=1), target)
    assert sorted(path.name for path in (target / "train" / "good").iterdir()) == before

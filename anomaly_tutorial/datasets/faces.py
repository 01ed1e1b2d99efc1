"""Faces vs non-faces: learn what a face looks like, flag everything else (notebook 00)."""

import numpy as np
import skimage.data

from anomaly_tutorial.datasets.dataset import GOOD, AnomalyDataset, check_fraction, split_indices

# skimage.data.lfw_subset(): "100 first images are faces and subsequent 100 are non-faces".
N_FACES = 100


def load_faces(train_fraction=0.6, random_state=0) -> AnomalyDataset:
    """scikit-image's LFW subset as a one-class task (notebook 00).

    ``skimage.data.lfw_subset()`` holds 200 grayscale 25x25 crops: 100 faces, then 100
    non-faces cut from the photos' backgrounds. Train on a random ``train_fraction`` of the
    faces; test on the remaining faces (label 0, ``"good"``) and all non-faces (label 1,
    defect ``"non_face"``). float32 (n, 25, 25, 1) in [0, 1]; no masks.
    """
    # lfw_subset() is already float in [0, 1]; dividing by 255 again would make every image
    # nearly black, which HOG ignores but every reconstruction-based detector does not.
    images = skimage.data.lfw_subset().astype(np.float32)[..., np.newaxis]
    check_fraction(train_fraction, "train_fraction")
    train_index, held_out = split_indices(np.arange(N_FACES), train_fraction, random_state)
    test_index = np.concatenate([held_out, np.arange(N_FACES, len(images))])
    is_face = test_index < N_FACES
    return AnomalyDataset(
        name="faces",
        train_images=images[train_index],
        test_images=images[test_index],
        test_labels=(~is_face).astype(np.int64),
        test_defects=np.where(is_face, GOOD, "non_face"),
    )

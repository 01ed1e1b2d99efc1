"""Faces vs non-faces: learn what a face looks like, flag everything else (notebook 00)."""

import numpy as np
import skimage.data

from anomaly_tutorial.datasets.dataset import GOOD, AnomalyDataset
from anomaly_tutorial.datasets.parts import check_part, select_part

# skimage.data.lfw_subset(): "100 first images are faces and subsequent 100 are non-faces".
N_FACES = 100
#: Faces to train on, and faces in each of the dev and test parts; non-faces are halved.
N_TRAIN, N_PART_FACES = 60, 20


def load_faces(part="test", random_state=0) -> AnomalyDataset:
    """scikit-image's LFW subset as a one-class task (notebook 00).

    ``skimage.data.lfw_subset()`` holds 200 grayscale 25x25 crops: 100 faces, then 100
    non-faces cut from the photos' backgrounds. Train on 60 random faces; the other 40 faces
    (label 0, ``"good"``) and the 100 non-faces (label 1, ``"non_face"``) are split at random
    into a ``"dev"`` part (20 + 50) for choosing settings and a ``"test"`` part (20 + 50) for
    reporting; ``part="all"`` keeps both. float32 (n, 25, 25, 1) in [0, 1]; no masks.
    """
    check_part(part)
    # lfw_subset() is already float in [0, 1]; dividing by 255 again would make every image
    # nearly black, which HOG ignores but every reconstruction-based detector does not.
    images = skimage.data.lfw_subset().astype(np.float32)[..., np.newaxis]
    rng = np.random.default_rng(random_state)
    faces = rng.permutation(N_FACES)
    non_faces = N_FACES + rng.permutation(len(images) - N_FACES)
    half = len(non_faces) // 2
    test_index = np.concatenate([faces[N_TRAIN:], non_faces])
    in_dev = np.r_[np.arange(len(faces) - N_TRAIN) < N_PART_FACES, np.arange(len(non_faces)) < half]
    order = np.argsort(test_index)  # keep lfw_subset's order: faces first
    is_face = test_index[order] < N_FACES
    dataset = AnomalyDataset(
        name="faces",
        train_images=images[np.sort(faces[:N_TRAIN])],
        test_images=images[test_index[order]],
        test_labels=(~is_face).astype(np.int64),
        test_defects=np.where(is_face, GOOD, "non_face"),
    )
    return select_part(dataset, part, np.where(in_dev[order], "dev", "test"))

"""How images reach a Keras network in training: one ``keras.utils.PyDataset`` (notebook 05).

Every Keras detector trains from :class:`ImageBatches`, whether its images are an array or a
folder of files (an image source, :mod:`anomaly_tutorial.detectors.base`): a batch is read,
padded for the network and handed to Keras, then forgotten, so a folder larger than memory can
be trained on. The order of the images is shuffled every epoch by the batches' own
``numpy.random.default_rng(seed)``: the same seed gives the same order for a folder and for the
same images as an array, and the global random state is never touched. ``PyDataset`` works on
every Keras backend.

Under Keras's data-parallel distribution (``keras.distribution.DataParallel``, README), every
batch is split across the devices, so its size must be a multiple of their number: the last,
shorter batch of an epoch is cut down to such a multiple (at most ``devices - 1`` images wait
for another epoch, which shuffles them into a full batch).
"""

import math

import keras
import numpy as np

from anomaly_tutorial.errors import InputError


def batch_shards() -> int:
    """How many devices the current Keras distribution splits a batch across (1 without one)."""
    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    mesh = distribution.device_mesh
    return int(dict(zip(mesh.axis_names, mesh.shape, strict=True))[distribution.batch_dim_name])


class ImageBatches(keras.utils.PyDataset):
    """Batches ``(inputs, targets)`` of an image source, in a new shuffled order every epoch.

    Parameters
    ----------
    source : anomaly_tutorial.detectors.base.ImageSource
        The images.
    batch_size : int
        Images per batch (the last batch may be smaller).
    inputs : callable
        Turns a float32 ``(n, H, W, C)`` batch into the network's input (e.g. padding it).
    targets : callable or None, default=None
        Turns the network inputs into the targets; ``None`` means the inputs themselves (an
        autoencoder's targets).
    seed : int or None, default=None
        Seed of the shuffling; ``None`` keeps the source's order (validation data).
    shards : int, default=1
        Every batch size must be a multiple of this (see :func:`batch_shards`).

    Attributes
    ----------
    failure : Exception or None
        The error a batch raised, kept so that the detector can re-raise it as it was: Keras
        may read batches in a TensorFlow thread, which wraps errors in its own type.
    """

    def __init__(self, source, batch_size, inputs, targets=None, seed=None, shards=1):
        super().__init__()  # one worker, no multiprocessing: batches come in order
        self.source, self.batch_size = source, int(batch_size)
        self.inputs, self.targets = inputs, targets
        if self.batch_size % shards:
            raise InputError(
                f"batch_size={batch_size} must be a multiple of the {shards} devices that the "
                "Keras distribution splits each batch across."
            )
        # A last batch cut to a multiple of the devices; all of it when there is one device.
        self._used = len(source) - (len(source) % self.batch_size) % shards
        if self._used == 0:
            raise InputError(f"{len(source)} image(s) are too few for {shards} devices.")
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._order = self._new_order()
        self.failure = None

    def _new_order(self) -> np.ndarray:
        count = len(self.source)
        return np.arange(count) if self._rng is None else self._rng.permutation(count)

    def __len__(self) -> int:
        return math.ceil(self._used / self.batch_size)

    def __getitem__(self, index):
        try:
            stop = min((index + 1) * self.batch_size, self._used)
            chosen = self._order[index * self.batch_size : stop]
            inputs = self.inputs(self.source.read(chosen))
            return inputs, inputs if self.targets is None else self.targets(inputs)
        except Exception as error:
            self.failure = error
            raise

    def on_epoch_end(self):
        self._order = self._new_order()

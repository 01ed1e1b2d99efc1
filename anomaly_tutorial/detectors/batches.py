"""How images reach a Keras network in training: one ``keras.utils.PyDataset`` (notebook 05).

Every Keras detector trains from :class:`ImageBatches`, whether its images are an array or a
folder of files (an image source, :mod:`anomaly_tutorial.detectors.base`): a batch is read,
padded for the network and handed to Keras, then forgotten, so a folder larger than memory can
be trained on. The order of the images is shuffled every epoch by the batches' own
``numpy.random.default_rng(seed)``: the same seed gives the same order for a folder and for the
same images as an array, and the global random state is never touched. ``PyDataset`` works on
every Keras backend.
"""

import math

import keras
import numpy as np


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

    Attributes
    ----------
    failure : Exception or None
        The error a batch raised, kept so that the detector can re-raise it as it was: Keras
        may read batches in a TensorFlow thread, which wraps errors in its own type.
    """

    def __init__(self, source, batch_size, inputs, targets=None, seed=None):
        super().__init__()  # one worker, no multiprocessing: batches come in order
        self.source, self.batch_size = source, int(batch_size)
        self.inputs, self.targets = inputs, targets
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._order = self._new_order()
        self.failure = None

    def _new_order(self) -> np.ndarray:
        count = len(self.source)
        return np.arange(count) if self._rng is None else self._rng.permutation(count)

    def __len__(self) -> int:
        return math.ceil(len(self.source) / self.batch_size)

    def __getitem__(self, index):
        try:
            chosen = self._order[index * self.batch_size : (index + 1) * self.batch_size]
            inputs = self.inputs(self.source.read(chosen))
            return inputs, inputs if self.targets is None else self.targets(inputs)
        except Exception as error:
            self.failure = error
            raise

    def on_epoch_end(self):
        self._order = self._new_order()

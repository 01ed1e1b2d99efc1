"""What the Keras detectors share: seeding, padding, batched inference, training and saving.

Training always reads its images through :class:`ImageBatches`, so an array and a folder (an
image source, :mod:`anomaly_tutorial.batching`) take the same path, one batch in memory at a time.
"""

import math
from numbers import Real

import keras
import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval

from anomaly_tutorial import progress
from anomaly_tutorial.detectors import networks, state
from anomaly_tutorial.detectors.base import POSITIVE_INT, ImageDetector, PositiveInts


class ImageBatches(keras.utils.PyDataset):
    """Batches ``(inputs, targets)`` of an image source for training (notebook 03).

    ``inputs(batch)`` turns a float32 ``(n, H, W, C)`` batch into the network's input;
    ``targets(inputs)`` gives the targets (None: the inputs, an autoencoder's). With a ``seed``,
    the order is shuffled every epoch by the batches' own ``default_rng(seed)``: the same order
    for a folder and for the same images as an array, the global random state untouched; None
    keeps the source's order (validation data). ``failure`` keeps the error a batch raised, so
    that the detector re-raises it as it was (Keras may wrap it in a TensorFlow type).
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


def history_dict(history) -> dict:
    """A ``keras.callbacks.History`` as plain ``{"loss": [float, ...], ...}``."""
    return {key: [float(value) for value in values] for key, values in history.history.items()}


class KerasImageDetector(ImageDetector):
    """Base class of the Keras detectors (notebooks 02 to 04): ``fit`` seeds Keras with
    ``random_state``; its one network, ``model_``, is saved as weights."""

    _networks = ("model_",)
    _parameter_constraints: dict = {
        **ImageDetector._parameter_constraints,
        "filters": [PositiveInts(high=networks.MAX_FILTERS)],
        "epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "verbose": ["verbose"],
    }

    def _seed(self) -> None:
        # Seeds Python, NumPy and the backend; ImageDetector.fit puts the first two back after.
        keras.utils.set_random_seed(self.random_state)

    def _new_model(self) -> keras.Model:  # pragma: no cover
        """The untrained network ``model_`` for the parameters and ``image_shape_``."""
        raise NotImplementedError

    def _get_state(self):
        values, _ = super()._get_state()
        return values, {"model_": [np.asarray(weight) for weight in self.model_.get_weights()]}

    def _set_state(self, values, weights):
        """The network is built from the parameters; only its weights are loaded, each checked
        against the built network's."""
        super()._set_state(values, {})
        model, saved = self._new_model(), weights["model_"]
        dtype = keras.backend.standardize_dtype
        expected = [(tuple(w.shape), dtype(w.dtype)) for w in model.weights]
        found = [(tuple(w.shape), str(w.dtype)) for w in saved]
        if found != expected:
            pairs = zip(found, expected, strict=False)
            first = next((i for i, (f, e) in enumerate(pairs) if f != e), len(expected))
            raise state.StateError(
                f"the saved weights ({len(found)} arrays) do not fit the network that the "
                f"parameters build ({len(expected)} arrays); the first difference is array {first}."
            )
        for weight in saved:
            if weight.dtype.kind == "f" and not np.all(np.isfinite(weight)):
                raise state.StateError("the saved network weights hold NaN or infinite values.")
        model.set_weights(saved)
        self.model_ = model

    def _network_input(self, images: np.ndarray) -> np.ndarray:
        """Images padded so that every halving of the network divides their size."""
        return networks.pad_images(images, self._padded_shape(images.shape[1:])[:2])

    def _predict(self, images: np.ndarray) -> np.ndarray:
        inputs = self._network_input(images)
        # Direct calls: predict() would trace a new graph for every fitted model and batch
        # shape, and warn about it, for no gain at these model sizes.
        outputs = [
            keras.ops.convert_to_numpy(self.model_(inputs[batch], training=False))
            for batch in gen_batches(len(inputs), self.batch_size)
        ]
        return np.concatenate(outputs)

    def _padded_shape(self, image_shape) -> tuple[int, int, int]:
        height, width, channels = image_shape
        return (*networks.padded_size(height, width, len(self.filters)), channels)

    def _train(self, model, images, val_images, targets=None, epochs=None, callbacks=()):
        """Fit ``model`` on the sources ``images`` and ``val_images``, batch by batch;
        ``targets(inputs)`` gives a batch's targets (default: the inputs). Returns the history."""
        epochs = self.epochs if epochs is None else epochs
        inputs = self._network_input
        data = ImageBatches(images, self.batch_size, inputs, targets, self.random_state)
        validation = ImageBatches(val_images, self.batch_size, inputs, targets)
        callbacks = [*callbacks, *progress.keras_bars(epochs, self.verbose)]
        try:
            # shuffle=False: ImageBatches shuffles with its own generator. Keras would otherwise
            # shuffle the order of the batches with Python's global random module.
            history = model.fit(
                data,
                validation_data=validation,
                epochs=epochs,
                shuffle=False,
                callbacks=callbacks,
                verbose=0,
            )
        except Exception:
            for batches in (data, validation):
                if batches.failure is not None:  # e.g. a corrupt file, as its own clear error
                    raise batches.failure from None
            raise
        return history_dict(history)

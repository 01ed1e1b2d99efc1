"""What the Keras detectors share: seeding, padding, batched inference, training and progress.

Notebooks 02 to 04 build on it. A subclass writes its ``_fit`` (build, compile and train
``model_``) and its ``_score_samples``; everything here is the plumbing around them. Training
always reads its images through :class:`~anomaly_tutorial.detectors.batches.ImageBatches`, so
an array and a folder take the same path.
"""

from numbers import Real

import keras
import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval

from anomaly_tutorial import progress
from anomaly_tutorial.detectors import networks, state
from anomaly_tutorial.detectors.base import POSITIVE_INT, ImageDetector, PositiveInts
from anomaly_tutorial.detectors.batches import ImageBatches


def history_dict(history) -> dict:
    """A ``keras.callbacks.History`` as plain ``{"loss": [float, ...], ...}``."""
    return {key: [float(value) for value in values] for key, values in history.history.items()}


class KerasImageDetector(ImageDetector):
    """Base class of the Keras detectors: ``fit`` seeds Keras with ``random_state``.

    ``_network_input`` pads images so that every halving of the network divides their size;
    ``_predict`` runs ``model_`` on them in batches of ``batch_size``; ``_train`` fits a model on
    image sources, batch by batch, and returns its history. ``_keras_attributes`` names the
    fitted Keras models (for saving).
    """

    _keras_attributes = ("model_",)
    _DOC_PARTS = {
        **ImageDetector._DOC_PARTS,
        "{verbose_parameter}": """verbose : int, default=0
        0 is silent; 1 or more shows progress bars (tqdm, on stderr) over the epochs, with the
        losses, and over long passes through the images.""",
    }
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
        """The network is built from the parameters by the detector's own builder; only its
        weights come from ``weights``, each checked against the built network's."""
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
        height, width = images.shape[1:3]
        return networks.pad_images(images, networks.padded_size(height, width, len(self.filters)))

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
        """The network's input shape for images of ``image_shape`` (see ``_network_input``)."""
        height, width, channels = image_shape
        return (*networks.padded_size(height, width, len(self.filters)), channels)

    def _train(self, model, images, val_images, targets=None, epochs=None, callbacks=()):
        """Fit ``model`` on the sources ``images`` (shuffled every epoch with ``random_state``)
        and ``val_images``, batch by batch; ``targets(inputs)`` gives the targets of a batch
        (default: the inputs). Returns the history as a dict."""
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

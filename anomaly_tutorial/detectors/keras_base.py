"""What the Keras detectors share: seeding, padding, batched inference and training history.

Notebooks 02 to 04 build on it. A subclass writes its ``_fit`` (build, compile and train
``model_``) and its ``_score_samples``; everything here is the plumbing around them.
"""

from numbers import Real

import keras
import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval

from anomaly_tutorial.detectors import networks
from anomaly_tutorial.detectors.base import POSITIVE_INT, ImageDetector, PositiveInts


def history_dict(history) -> dict:
    """A ``keras.callbacks.History`` as plain ``{"loss": [float, ...], ...}``."""
    return {key: [float(value) for value in values] for key, values in history.history.items()}


class KerasImageDetector(ImageDetector):
    """Base class of the Keras detectors: ``fit`` seeds Keras with ``random_state``.

    ``_network_input`` pads images so that every halving of the network divides their size;
    ``_predict`` runs ``model_`` on them in batches of ``batch_size``; ``_train`` fits a model and
    returns its history. ``_keras_attributes`` names the fitted Keras models (for saving).
    """

    _keras_attributes = ("model_",)
    _DOC_PARTS = {
        **ImageDetector._DOC_PARTS,
        "{verbose_parameter}": """verbose : int, default=0
        Keras's training log level.""",
    }
    _parameter_constraints: dict = {
        **ImageDetector._parameter_constraints,
        "filters": [PositiveInts()],
        "epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "verbose": ["verbose"],
    }

    def _seed(self) -> None:
        # Seeds Python, NumPy and the backend; ImageDetector.fit puts the first two back after.
        keras.utils.set_random_seed(self.random_state)

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

    def _train(self, model, inputs, targets, validation_data, epochs=None, callbacks=()):
        history = model.fit(
            inputs,
            targets,
            validation_data=validation_data,
            epochs=self.epochs if epochs is None else epochs,
            batch_size=self.batch_size,
            callbacks=list(callbacks),
            verbose=self.verbose,
        )
        return history_dict(history)

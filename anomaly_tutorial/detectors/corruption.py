"""Inpainting training: damage the input, ask for the clean image back (notebook 03).

An autoencoder that copies its input copies defects too; with random blobs of the *input*
damaged and the *target* clean, it learns to replace what does not fit the normal texture.
"""

import keras


@keras.saving.register_keras_serializable(package="anomaly_tutorial")
class RandomBlobCorruption(keras.layers.Layer):
    """During training only, hide ``rate`` of a batch's pixels under random blobs of about
    ``blob_size`` pixels, filled with a flat random grey or, with probability ``shift_share``,
    with the image itself brightened or darkened by a random amount (``seed``: of the blobs and
    fills). At inference (``training=False``) the layer does nothing.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.full((2, 32, 32, 1), 0.5, dtype=np.float32)
    >>> damage = RandomBlobCorruption(rate=0.25, seed=0)
    >>> bool(np.all(np.asarray(damage(images, training=False)) == images))
    True
    """

    def __init__(self, rate=0.25, blob_size=8, shift_share=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.blob_size = int(blob_size)
        self.shift_share = float(shift_share)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        batch = keras.ops.shape(inputs)[0]
        rows, cols = -(-height // self.blob_size) + 1, -(-width // self.blob_size) + 1
        coarse = keras.random.uniform((batch, rows, cols, 1), seed=self.seed_generator)
        smooth = keras.ops.image.resize(coarse, (height, width), interpolation="bilinear")
        # Cut at the batch's quantile, so that `rate` of all pixels is hidden, in blobs.
        hidden = keras.ops.cast(smooth < keras.ops.quantile(smooth, self.rate), inputs.dtype)
        draws = keras.random.uniform((batch, 1, 1, 3), seed=self.seed_generator)
        grey, shift = draws[..., :1], draws[..., 1:2] - 0.5
        use_shift = keras.ops.cast(draws[..., 2:] < self.shift_share, inputs.dtype)
        fill = use_shift * keras.ops.clip(inputs + shift, 0.0, 1.0) + (1.0 - use_shift) * grey
        return inputs * (1.0 - hidden) + fill * hidden

    def get_config(self):
        config = super().get_config()
        config.update(
            rate=self.rate, blob_size=self.blob_size, shift_share=self.shift_share, seed=self.seed
        )
        return config

"""Small convolutional building blocks shared by the deep detectors (notebooks 03 and 04).

A network that halves the image ``n`` times needs sides divisible by ``2**n``, so the detectors
pad images up (:func:`pad_images`) and cut their maps back (:func:`crop_maps`). Only ``keras``
layers and ``keras.ops`` are used: every Keras backend runs them.
"""

import keras
import numpy as np

#: Every convolution is 3x3; leaky ReLU keeps a gradient for negative inputs and maps 0 to 0,
#: which Deep SVDD needs (notebook 04).
KERNEL_SIZE, ACTIVATION = 3, "leaky_relu"
#: The widest layer a detector accepts, and the most weights a network may have (64 MB): bounds
#: that keep a mistyped parameter, or a crafted saved model, from allocating gigabytes.
MAX_FILTERS, MAX_WEIGHTS = 1024, 2**24


def padded_size(height: int, width: int, n_downsamplings: int) -> tuple[int, int]:
    """The smallest ``(H', W') >= (height, width)`` with both sides divisible by ``2**n``."""
    if n_downsamplings < 0:
        raise ValueError(f"n_downsamplings must be >= 0; got {n_downsamplings!r}.")
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive; got {height}x{width}.")
    step = 2**n_downsamplings
    return (-(-height // step) * step, -(-width // step) * step)


def _margins(size: int, target: int) -> tuple[int, int]:
    # Centred: a convolution sees the same context at the top and at the bottom.
    before = (target - size) // 2
    return before, target - size - before


def pad_images(images, target_hw: tuple[int, int], mode: str = "reflect") -> np.ndarray:
    """Pad ``(n, H, W, C)`` images, centred, to ``target_hw`` with the ``numpy.pad`` ``mode``.
    Reflection continues a texture into the border instead of a black edge to learn."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be shaped (n, H, W, C); got shape {images.shape}.")
    height, width = images.shape[1:3]
    target_height, target_width = target_hw
    if target_height < height or target_width < width:
        raise ValueError(
            f"target_hw={tuple(target_hw)} is smaller than the images ({height}x{width})."
        )
    if (target_height, target_width) == (height, width):
        return images
    widths = ((0, 0), _margins(height, target_height), _margins(width, target_width), (0, 0))
    return np.pad(images, widths, mode=mode)


def crop_maps(maps, hw: tuple[int, int]) -> np.ndarray:
    """Undo :func:`pad_images` on ``(n, H', W')`` or ``(n, H', W', C)`` maps: crop to ``hw``."""
    maps = np.asarray(maps)
    if maps.ndim not in (3, 4):
        raise ValueError(f"maps must be shaped (n, H, W) or (n, H, W, C); got {maps.shape}.")
    height, width = hw
    padded_height, padded_width = maps.shape[1:3]
    if padded_height < height or padded_width < width:
        raise ValueError(f"maps of {padded_height}x{padded_width} cannot be cropped to {hw}.")
    top, _ = _margins(height, padded_height)
    left, _ = _margins(width, padded_width)
    return maps[:, top : top + height, left : left + width]


def _check(shape, filters, latent_dim, argument: str) -> tuple[int, ...]:
    filters = tuple(int(count) for count in filters)
    if not filters or min(filters) < 1:
        raise ValueError(f"filters must be a non-empty sequence of positive ints; got {filters}.")
    if latent_dim is not None and int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive int or None; got {latent_dim!r}.")
    height, width = int(shape[0]), int(shape[1])
    if padded_size(height, width, len(filters)) != (height, width):
        raise ValueError(
            f"{argument}={tuple(shape)}: height and width must be divisible by "
            f"2**len(filters) = {2 ** len(filters)}; pad the images with pad_images first."
        )
    # The largest layers, counted before building allocates them: the convolutions, and the
    # dense layer between the code and the last feature map.
    widths = (int(shape[2]) if len(shape) > 2 else 1, *filters)
    convolutions = sum(KERNEL_SIZE**2 * a * b for a, b in zip(widths, widths[1:], strict=False))
    code = (height >> len(filters)) * (width >> len(filters)) * filters[-1]
    weights = convolutions + code * int(latent_dim or 0)
    if weights > MAX_WEIGHTS:
        raise ValueError(
            f"filters={filters} and latent_dim={latent_dim} for {height}x{width} images make "
            f"{weights:,} weights, more than {MAX_WEIGHTS:,}; use fewer filters, a smaller code "
            "or smaller images."
        )
    return filters


def _normalise_and_activate(tensor, use_bias, batch_norm, name):
    if batch_norm:
        # Without bias, no learned shift anywhere (Deep SVDD): BN's beta is a bias and gamma
        # could scale features towards zero, so both go.
        tensor = keras.layers.BatchNormalization(
            center=use_bias, scale=use_bias, epsilon=1e-4, name=f"{name}_bn"
        )(tensor)
    return keras.layers.Activation(ACTIVATION, name=f"{name}_act")(tensor)


def build_encoder(
    input_shape, filters, latent_dim, *, use_bias=True, batch_norm=False, name="encoder"
) -> keras.Model:
    """Padded image ``(H, W, C)`` -> code, halving the size once per entry of ``filters``
    (notebook 04): a vector of ``latent_dim`` numbers, or (None) the last feature map.
    ``use_bias=False`` removes every bias term, BatchNorm's too, as Deep SVDD requires."""
    filters = _check(input_shape, filters, latent_dim, "input_shape")
    inputs = keras.Input(shape=tuple(input_shape), name=f"{name}_image")
    tensor = inputs
    for stage, count in enumerate(filters, start=1):
        tensor = keras.layers.Conv2D(
            count,
            KERNEL_SIZE,
            strides=2,
            padding="same",
            use_bias=use_bias,
            name=f"{name}_conv{stage}",
        )(tensor)
        tensor = _normalise_and_activate(tensor, use_bias, batch_norm, f"{name}{stage}")
    if latent_dim is not None:
        tensor = keras.layers.Flatten(name=f"{name}_flatten")(tensor)
        tensor = keras.layers.Dense(int(latent_dim), use_bias=use_bias, name=f"{name}_code")(tensor)
    return keras.Model(inputs, tensor, name=name)


def build_decoder(
    output_shape, filters, latent_dim, *, use_bias=True, batch_norm=False, name="decoder"
) -> keras.Model:
    """The mirror of :func:`build_encoder` (same ``filters`` and ``latent_dim``): code ->
    image. Nearest-neighbour upsampling and a convolution avoid the checkerboard artefacts of
    transposed convolutions, which would light up every error map."""
    filters = _check(output_shape, filters, latent_dim, "output_shape")
    height, width, channels = (int(size) for size in output_shape)
    step = 2 ** len(filters)
    code_shape = (height // step, width // step, filters[-1])
    if latent_dim is None:
        inputs = keras.Input(shape=code_shape, name=f"{name}_code")
        tensor = inputs
    else:
        inputs = keras.Input(shape=(int(latent_dim),), name=f"{name}_code")
        tensor = keras.layers.Dense(
            int(np.prod(code_shape)), use_bias=use_bias, name=f"{name}_dense"
        )(inputs)
        tensor = _normalise_and_activate(tensor, use_bias, False, f"{name}0")
        tensor = keras.layers.Reshape(code_shape, name=f"{name}_reshape")(tensor)
    # As many channels as the encoder had at each size; the last upsampling goes straight to
    # the image, so no wide layer runs at full resolution.
    widths = (*reversed(filters[:-1]), None)
    for stage, count in enumerate(widths, start=1):
        tensor = keras.layers.UpSampling2D(2, name=f"{name}_up{stage}")(tensor)
        if count is None:
            break
        tensor = keras.layers.Conv2D(
            count, KERNEL_SIZE, padding="same", use_bias=use_bias, name=f"{name}_conv{stage}"
        )(tensor)
        tensor = _normalise_and_activate(tensor, use_bias, batch_norm, f"{name}{stage}")
    outputs = keras.layers.Conv2D(
        channels,
        KERNEL_SIZE,
        padding="same",
        use_bias=use_bias,
        activation="sigmoid",
        name=f"{name}_image",
    )(tensor)
    return keras.Model(inputs, outputs, name=name)

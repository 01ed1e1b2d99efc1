"""Declarations of what a fitted detector is made of, so that a saved copy can be checked.

Each detector declares its fitted attributes (its networks are rebuilt, not declared);
:func:`check` holds saved values against that, so that :mod:`anomaly_tutorial.persistence`
never hands a detector a value it did not declare: a string for a number, a wrong shape, a NaN.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

#: The most numbers one saved array may hold (128 MB of float32).
MAX_NUMBERS = 32 * 2**20
#: The most entries a saved training history may hold per curve (one per epoch).
MAX_EPOCHS = 100_000


class StateError(ValueError):
    """A saved value that does not match its declaration; the message says which."""


@dataclass(frozen=True)
class Number:
    """A finite number; ``integer=True`` for an int; ``optional``: None too. Bounds are
    inclusive."""

    low: float = -math.inf
    high: float = math.inf
    integer: bool = False
    optional: bool = False

    def check(self, value, name):
        if value is None and self.optional:
            return None
        kinds = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
            kind = "an integer" if self.integer else "a finite number"
            raise StateError(f"{name} must be {kind}; got {value!r:.60}.")
        if not self.low <= value <= self.high:
            raise StateError(f"{name} must be in [{self.low}, {self.high}]; got {value!r}.")
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (strings or None)."""

    options: tuple

    def check(self, value, name):
        if not isinstance(value, str | type(None)) or value not in self.options:
            raise StateError(f"{name} must be one of {self.options}; got {value!r:.60}.")
        return value


@dataclass(frozen=True)
class Items:
    """A list holding one value per spec, in order."""

    specs: tuple

    def check(self, value, name):
        if not isinstance(value, list | tuple) or len(value) != len(self.specs):
            raise StateError(f"{name} must be a list of {len(self.specs)} values.")
        return [spec.check(item, f"{name}[{i}]") for i, (spec, item) in
                enumerate(zip(self.specs, value, strict=True))]  # fmt: skip


@dataclass(frozen=True)
class History:
    """Keras's training history: ``{"loss": [float, ...], ...}``, one number per epoch."""

    def check(self, value, name):
        if not isinstance(value, dict) or len(value) > 16:
            raise StateError(f"{name} must be a JSON object of loss curves.")
        checked = {}
        for key, curve in value.items():
            if not isinstance(curve, list) or len(curve) > MAX_EPOCHS:
                raise StateError(f"{name}[{key!r:.40}] must be a list of numbers.")
            checked[key] = [Number().check(item, f"{name}[{key!r:.40}]") for item in curve]
        return checked


@dataclass(frozen=True)
class Array:
    """A NumPy array of ``dtype`` and ``shape``: ints are fixed sizes, and every array naming a
    size (``"n_support"``) must agree on it."""

    shape: tuple
    dtype: str = "float32"
    optional: bool = False  # may be None (not fitted with the option that makes it)


def check(values: dict, spec: dict, where: str) -> dict:
    """``values`` checked against ``spec`` (name -> declaration), as the detector gets them;
    :class:`StateError` names ``where`` and the attribute. Ints among the numbers are sizes
    that array shapes may name (``Array(("n", "latent_dim_"))``)."""
    if not isinstance(values, dict) or set(values) != set(spec):
        got = sorted(values) if isinstance(values, dict) else type(values).__name__
        raise StateError(f"{where}: expected the attributes {sorted(spec)}; got {got}.")
    checked = {
        name: declared.check(values[name], f"{where} {name}")
        for name, declared in spec.items()
        if not isinstance(declared, Array)
    }
    sizes = {name: value for name, value in checked.items() if type(value) is int}
    for name, declared in spec.items():
        value = values[name]
        if not isinstance(declared, Array) or (value is None and declared.optional):
            checked.setdefault(name, value)
            continue
        label = f"{where} {name}"
        if not isinstance(value, np.ndarray):
            raise StateError(f"{label}: must be an array; got {type(value).__name__}.")
        shape, shapes = value.shape, declared.shape
        if value.dtype != np.dtype(declared.dtype):
            raise StateError(f"{label}: dtype must be {declared.dtype}; got {value.dtype}.")
        if len(shape) != len(shapes):
            raise StateError(f"{label}: must have {len(shapes)} axes; got shape {shape}.")
        if math.prod(shape) > MAX_NUMBERS:
            raise StateError(f"{label}: {math.prod(shape):,} numbers is more than a model holds.")
        for size, expected in zip(shape, shapes, strict=True):
            expected = sizes.setdefault(expected, size) if isinstance(expected, str) else expected
            if size != expected or size < 1:
                raise StateError(f"{label}: shape must be {shapes}; got {shape}.")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise StateError(f"{label}: contains NaN or infinite values.")
        checked[name] = value
    return checked


__all__ = ["Array", "Choice", "History", "Items", "Number", "StateError", "check"]

"""Counting trainable parameters: every architecture states the shapes of ONE model's
trained parameters (``param_shapes``) and :func:`count_params` counts them; no counting
formula is written anywhere else."""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence, Union

__all__ = ["count_params"]

Shapes = Union[Mapping[str, Sequence[int]], Iterable[Sequence[int]]]


def count_params(shapes: Shapes) -> int:
    """Number of scalars in parameters of these shapes (a ``()`` shape is one scalar);
    ``shapes`` is a sequence of shapes or a name -> shape map."""
    if isinstance(shapes, Mapping):
        shapes = shapes.values()
    return int(sum(math.prod(int(d) for d in shape) for shape in shapes))

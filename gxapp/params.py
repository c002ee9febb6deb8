"""Declared parameters: constraints stated once, checked one way, one message format.

Every parameter object of gxapp (QC thresholds, simulation knobs, network and
training settings, each cached analysis's parameters) is a frozen dataclass
deriving from :class:`Params` and declaring ``_parameter_constraints`` — a map
from field name to a list of allowed forms, any one of which is enough
(scikit-learn's habit)::

    class RunParams(Params):
        _parameter_constraints = {"ensemble": [Interval(Integral, 1, None)],
                                  "threads": [None, Interval(Integral, 1, None)]}

``validate()`` checks every declared field and then the class's cross-field
``_check()``; a failure raises :class:`~gxapp.errors.ParameterError` worded
``name: expected <what>, got <value>`` so the message names the parameter and
says what to give instead.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from numbers import Integral, Real
from typing import ClassVar, Iterable

from gxapp.errors import ParameterError

__all__ = [
    "Interval",
    "Options",
    "SubsetOf",
    "InstanceOf",
    "Params",
    "check_param",
    "check_int",
    "check_number",
    "Integral",
    "Real",
]


class Constraint:
    def is_satisfied_by(self, value) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _is_integer(v) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(float(v))


class Interval(Constraint):
    """An integer (``Integral``) or finite number (``Real``) between ``left`` and
    ``right`` (None: unbounded); ``closed`` is "both", "left", "right" or "neither"."""

    def __init__(self, kind, left=None, right=None, closed: str = "both"):
        if kind not in (Integral, Real):
            raise TypeError("Interval kind must be numbers.Integral or numbers.Real")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed: expected both/left/right/neither, got {closed!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value) -> bool:
        if not (_is_integer(value) if self.kind is Integral else _is_number(value)):
            return False
        lo_closed = self.closed in ("both", "left")
        hi_closed = self.closed in ("both", "right")
        if self.left is not None and (value < self.left or (value == self.left and not lo_closed)):
            return False
        if self.right is not None and (value > self.right or (value == self.right and not hi_closed)):
            return False
        return True

    def describe(self) -> str:
        what = "an integer" if self.kind is Integral else "a number"
        lo_closed = self.closed in ("both", "left")
        hi_closed = self.closed in ("both", "right")
        if self.left is None and self.right is None:
            return what
        if self.right is None:
            return f"{what} {'>=' if lo_closed else '>'} {self.left:g}"
        if self.left is None:
            return f"{what} {'<=' if hi_closed else '<'} {self.right:g}"
        return f"{what} in {'[' if lo_closed else '('}{self.left:g}, {self.right:g}{']' if hi_closed else ')'}"


class Options(Constraint):
    """One of a fixed set of values (compared with ``==``; bools never match numbers)."""

    def __init__(self, values: Iterable):
        self.values = tuple(values)

    def is_satisfied_by(self, value) -> bool:
        try:
            return any(isinstance(value, bool) == isinstance(v, bool) and bool(value == v) for v in self.values)
        except (TypeError, ValueError):  # an array or something without a truth value
            return False

    def describe(self) -> str:
        return "one of " + ", ".join(str(v) for v in self.values)


class SubsetOf(Constraint):
    """A tuple or list (non-empty unless ``allow_empty``) whose items are each one of ``values``."""

    def __init__(self, values: Iterable, allow_empty: bool = False):
        self.values = tuple(values)
        self.allow_empty = allow_empty

    def is_satisfied_by(self, value) -> bool:
        if isinstance(value, str) or not isinstance(value, (tuple, list)):
            return False
        return (self.allow_empty or len(value) > 0) and all(v in self.values for v in value)

    def describe(self) -> str:
        return f"a{'' if self.allow_empty else ' non-empty'} list from " + ", ".join(str(v) for v in self.values)


class InstanceOf(Constraint):
    """An instance of ``types`` (``bool`` only matches True/False)."""

    def __init__(self, types, description: str):
        self.types = types if isinstance(types, tuple) else (types,)
        self.description = description

    def is_satisfied_by(self, value) -> bool:
        if bool not in self.types and isinstance(value, bool):
            return False
        return isinstance(value, self.types)

    def describe(self) -> str:
        return self.description


class _NoneConstraint(Constraint):
    def is_satisfied_by(self, value) -> bool:
        return value is None

    def describe(self) -> str:
        return "None"


def _as_constraint(c) -> Constraint:
    if c is None:
        return _NoneConstraint()
    if isinstance(c, Constraint):
        return c
    if c is bool:
        return InstanceOf(bool, "True or False")
    if c is str:
        return InstanceOf(str, "a string")
    raise TypeError(f"not a parameter constraint: {c!r}")


def check_param(name: str, value, constraints) -> None:
    """Raise ``ParameterError("name: expected …, got …")`` unless one constraint holds."""
    cons = [_as_constraint(c) for c in constraints]
    if any(c.is_satisfied_by(value) for c in cons):
        return
    # None last reads better: "an integer >= 1 or None"
    cons.sort(key=lambda c: isinstance(c, _NoneConstraint))
    raise ParameterError(f"{name}: expected {' or '.join(c.describe() for c in cons)}, got {value!r}")


def check_int(name: str, value, low=None, high=None) -> int:
    """``value`` as an int, else ``ParameterError("name: expected an integer …, got …")``."""
    check_param(name, value, [Interval(Integral, low, high)])
    return int(value)


def check_number(name: str, value, low=None, high=None, closed: str = "both") -> float:
    """``value`` as a float, else ``ParameterError("name: expected a number …, got …")``."""
    check_param(name, value, [Interval(Real, low, high, closed)])
    return float(value)


class Params:
    """Base of gxapp's frozen-dataclass parameter objects.

    Subclasses declare ``_parameter_constraints`` and, for rules joining fields,
    override ``_check``; ``EXECUTION_ONLY`` names fields (device, threads,
    executor) that change how, not what, is computed: they stay out of cache keys.
    """

    _parameter_constraints: ClassVar[dict] = {}
    EXECUTION_ONLY: ClassVar[tuple] = ()

    def validate(self):
        for name, cons in self._parameter_constraints.items():
            check_param(name, getattr(self, name), cons)
        self._check()
        return self

    def _check(self) -> None:
        """Cross-field rules; raise ParameterError naming the field to change."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def science(self) -> dict:
        """The fields that define the result (what a cache key is made of)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.EXECUTION_ONLY}

    @classmethod
    def from_dict(cls, d: dict, strict: bool = False):
        """Rebuild from :meth:`to_dict` output; unknown keys are ignored unless ``strict``."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if strict and unknown:
            raise ParameterError(f"{unknown[0]}: not a parameter of {cls.__name__} (known: {', '.join(known)})")
        out = {}
        for k, v in d.items():
            if k not in known:
                continue
            if isinstance(v, list) and isinstance(known[k].default, tuple):
                v = tuple(v)
            out[k] = v
        return cls(**out)

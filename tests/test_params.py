"""The one declared-validation helper: every constraint kind, the message format, round trips."""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pytest

from gxapp.errors import ParameterError
from gxapp.params import InstanceOf, Integral, Interval, Options, Params, Real, SubsetOf, check_param


@dataclass(frozen=True)
class Demo(Params):
    n: int = 3
    frac: float = 0.5
    how: str = "a"
    items: tuple = ("x",)
    opt: Optional[int] = None
    flag: bool = False
    device: str = "cpu"

    EXECUTION_ONLY = ("device",)
    _parameter_constraints = {
        "n": [Interval(Integral, 1, None)],
        "frac": [Interval(Real, 0, 1, closed="right")],
        "how": [Options(("a", "b"))],
        "items": [SubsetOf(("x", "y"))],
        "opt": [None, Interval(Integral, 2, 10)],
        "flag": [bool],
    }

    def _check(self):
        if self.how == "b" and self.n < 2:
            raise ParameterError("n: expected >= 2 when how is 'b', got 1")


def test_defaults_validate_and_return_self():
    d = Demo()
    assert d.validate() is d


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("n", 0, "n: expected an integer >= 1, got 0"),
        ("n", True, "n: expected an integer >= 1, got True"),
        ("n", 2.0, "n: expected an integer >= 1, got 2.0"),
        ("frac", 0, "frac: expected a number in (0, 1], got 0"),
        ("frac", float("nan"), "frac: expected a number in (0, 1], got nan"),
        ("frac", 1.5, "frac: expected a number in (0, 1], got 1.5"),
        ("how", "c", "how: expected one of a, b, got 'c'"),
        ("items", (), "items: expected a non-empty list from x, y, got ()"),
        ("items", ("x", "z"), "items: expected a non-empty list from x, y, got ('x', 'z')"),
        ("items", "x", "items: expected a non-empty list from x, y, got 'x'"),
        ("opt", 1, "opt: expected an integer in [2, 10] or None, got 1"),
        ("flag", 1, "flag: expected True or False, got 1"),
    ],
)
def test_each_bad_value_names_the_field_and_what_to_give(field, value, expected):
    with pytest.raises(ParameterError) as e:
        Demo(**{field: value}).validate()
    assert str(e.value) == expected


@pytest.mark.parametrize(
    "field,value",
    [
        ("n", np.int64(5)),
        ("frac", 1),
        ("frac", np.float32(0.25)),
        ("opt", None),
        ("opt", 10),
        ("items", ["y", "x"]),
    ],
)
def test_accepted_values(field, value):
    Demo(**{field: value}).validate()


def test_cross_field_check_runs_after_fields():
    with pytest.raises(ParameterError, match="when how is 'b'"):
        Demo(how="b", n=1).validate()


def test_round_trip_restores_tuples_and_science_drops_execution_fields():
    d = Demo(items=("x", "y"), device="cuda")
    back = Demo.from_dict(d.to_dict())
    assert back == d and isinstance(back.items, tuple)
    assert "device" not in d.science() and d.science()["items"] == ["x", "y"]


def test_from_dict_strict_rejects_unknown_keys():
    assert Demo.from_dict({"n": 4, "old_field": 1}).n == 4
    with pytest.raises(ParameterError, match="old_field: not a parameter of Demo"):
        Demo.from_dict({"old_field": 1}, strict=True)


def test_options_never_confuse_bool_and_int_and_tolerate_arrays():
    assert not Options((1, 2)).is_satisfied_by(True)
    assert not Options((1, 2)).is_satisfied_by(np.array([1, 2]))
    with pytest.raises(ParameterError, match="k: expected an integer or a string, got 1.5"):
        check_param("k", 1.5, [Interval(Integral), InstanceOf(str, "a string")])

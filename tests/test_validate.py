"""Parameter checks name the parameter, the value and what is allowed."""

import pytest

from ntkcompanion import validate


@pytest.mark.parametrize("check,value,message", [
    (validate.positive_int, 0, "N = 0 is not allowed: expected an integer >= 1."),
    (validate.positive_int, 2.5, "N = 2.5 is not allowed: expected an integer >= 1."),
    (validate.positive_int, True, "N = True is not allowed"),
    (validate.nonnegative_int, -1, "N = -1 is not allowed: expected an integer >= 0."),
    (validate.nonnegative_float, -0.1, "N = -0.1 is not allowed: expected a number >= 0."),
    (validate.nonnegative_float, float("nan"), "N = nan is not allowed"),
    (validate.positive_float, 0, "N = 0 is not allowed: expected a number > 0."),
    (validate.nonempty_list, [], "N = [] is not allowed: expected a non-empty list."),
    (validate.nonempty_list, "abc", "N = 'abc' is not allowed"),
])
def test_rejects(check, value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(".", r"\.")):
        check("N", value)


def test_accepts_and_returns():
    assert validate.positive_int("N", 3) == 3
    assert validate.nonnegative_float("EPS", 0) == 0.0
    assert validate.float_in_range("P", 0.5, 0, 1) == 0.5
    assert validate.one_of("NORM", "linf", ("linf", "l2")) == "linf"
    assert validate.nonempty_list("W", [1, 2], validate.positive_int) == [1, 2]


def test_one_of_lists_the_choices():
    with pytest.raises(ValueError, match=r"NORM = 'l3' is not allowed: expected one of 'linf', 'l2'\."):
        validate.one_of("NORM", "l3", ("linf", "l2"))
    with pytest.raises(ValueError, match=r"NORM = \['linf'\]"):
        validate.one_of("NORM", ["linf"], ("linf", "l2"))


def test_list_items_are_named_by_index():
    with pytest.raises(ValueError, match=r"WIDTHS\[1\] = 0 is not allowed"):
        validate.nonempty_list("WIDTHS", [4, 0], validate.positive_int)

"""Declared parameters: every kind accepts what it should and rejects the rest, naming the parameter."""

import re

import numpy as np
import pytest

from ntkcompanion.parameters import Param, ParameterError, at_most, check_names, validate


def rejects(param, value, message):
    with pytest.raises(ParameterError, match="^" + re.escape(message)):
        param.check(value)


def test_int_rejects_bools_floats_and_out_of_range():
    p = Param("WIDTH", "int", "hidden units", low=1, high=100)
    assert p.check(32) == 32 and type(p.check(np.int64(7))) is int
    rejects(p, 32.5, "WIDTH = 32.5 is not allowed: expected an integer in [1, 100].")
    rejects(p, 32.0, "WIDTH = 32.0 is not allowed")  # never rounded, never silently converted
    rejects(p, True, "WIDTH = True is not allowed")
    rejects(p, 0, "WIDTH = 0 is not allowed")
    rejects(p, 101, "WIDTH = 101 is not allowed")
    rejects(p, "32", "WIDTH = '32' is not allowed")


def test_float_bounds_open_and_closed():
    p = Param("ALPHA", "float", "level", low=0.0, high=1.0, low_open=True, high_open=True)
    assert p.check(0.05) == 0.05 and p.check(np.float32(0.5)) == 0.5
    rejects(p, 0.0, "ALPHA = 0.0 is not allowed: expected a number in (0, 1).")
    rejects(p, 1, "ALPHA = 1 is not allowed")
    for bad in (float("nan"), float("inf"), False, "0.1", None):
        rejects(p, bad, f"ALPHA = {bad!r} is not allowed")
    eps = Param("EPS", "float", "radius", low=0.0, unit="pixels")
    assert eps.check(0) == 0 and type(eps.check(0)) is int  # an integer is a number; kept as given
    rejects(eps, -0.1, "EPS = -0.1 is not allowed: expected a number >= 0 (pixels).")


def test_bool_str_choice_and_none():
    flag = Param("CENTER", "bool", "centre")
    assert flag.check(False) is False
    rejects(flag, 1, "CENTER = 1 is not allowed: expected True or False.")
    text = Param("OUTPUT_DIR", "str", "where")
    rejects(text, "", "OUTPUT_DIR = '' is not allowed: expected a non-empty string.")
    norm = Param("NORM", "choice", "ball", choices=("linf", "l2"))
    rejects(norm, "l3", "NORM = 'l3' is not allowed: expected one of 'linf', 'l2'.")
    rejects(norm, ["linf"], "NORM = ['linf'] is not allowed")
    pool = Param("DOWNSAMPLE", "choice", "factor", choices=(1, 2, 4))
    assert pool.check(np.int64(2)) == 2
    rejects(pool, True, "DOWNSAMPLE = True is not allowed")  # True == 1, but it is not the integer 1
    batch = Param("BATCH_SIZE", "int", "batch", low=1, allow_none=True)
    assert batch.check(None) is None
    rejects(batch, 0, "BATCH_SIZE = 0 is not allowed: expected an integer >= 1, or None.")
    rejects(Param("N", "int", "n", low=1), None, "N = None is not allowed")


def test_list_items_are_named_by_index_and_lengths_bounded():
    widths = Param("WIDTHS", "list", "widths", item=Param("w", "int", "", low=1), max_len=3)
    assert widths.check((4, 8)) == [4, 8]
    rejects(widths, [4, 0], "WIDTHS[1] = 0 is not allowed: expected an integer >= 1.")
    rejects(widths, [4, 2.5], "WIDTHS[1] = 2.5 is not allowed")
    rejects(widths, [], "WIDTHS = [] is not allowed: expected a list of 1 to 3 items")
    rejects(widths, [1, 2, 3, 4], "WIDTHS = [1, 2, 3, 4] is not allowed")
    rejects(widths, "abc", "WIDTHS = 'abc' is not allowed")
    rejects(widths, 8, "WIDTHS = 8 is not allowed")
    classes = Param("CLASSES", "list", "classes", item=Param("c", "class", ""), allow_empty=True)
    assert classes.check([]) == [] and classes.check([3, "cat"]) == [3, "cat"]
    rejects(classes, [3, -1], "CLASSES[1] = -1 is not allowed")
    rejects(classes, [True, 2], "CLASSES[0] = True is not allowed")
    pair = Param("BINARY_CLASSES", "list", "pair", item=Param("c", "class", ""), min_len=2, max_len=2)
    rejects(pair, [1, 2, 3], "BINARY_CLASSES = [1, 2, 3] is not allowed: expected a list of exactly 2 items")


DECLS = [Param("N_TRAIN", "int", "train", low=2, high=1000), Param("N_SHOW", "int", "shown", low=1, high=64),
         Param("EPOCHS", "int", "epochs", low=1), Param("SWITCH", "list", "switch",
                                                        item=Param("e", "int", "", low=0))]


def test_validate_reports_the_first_error_in_declaration_order():
    values = {"N_TRAIN": 10, "N_SHOW": 0, "EPOCHS": 0, "SWITCH": [0]}
    with pytest.raises(ParameterError, match=r"^N_SHOW = 0 "):
        validate(DECLS, values)
    # EPOCHS is blamed, not a later parameter whose check depends on it.
    with pytest.raises(ParameterError, match=r"^EPOCHS = 0 "):
        validate(DECLS, values | {"N_SHOW": 3}, [lambda p: None])


def test_cross_checks_run_after_single_checks():
    values = {"N_TRAIN": 10, "N_SHOW": 20, "EPOCHS": 1, "SWITCH": [0]}
    with pytest.raises(ParameterError, match=r"^N_SHOW = 20 is not allowed: expected at most N_TRAIN = 10\.$"):
        validate(DECLS, values, [at_most("N_SHOW", "N_TRAIN")])
    with pytest.raises(ParameterError, match=r"^N_SHOW = 20 .* at most N_TRAIN - 1 = 9"):
        validate(DECLS, values | {"N_SHOW": 20}, [at_most("N_SHOW", "N_TRAIN", offset=-1)])
    p = validate(DECLS, values | {"N_SHOW": 10}, [at_most("N_SHOW", "N_TRAIN")])
    assert p.N_SHOW == 10 and p["N_TRAIN"] == 10 and dict(p) == values | {"N_SHOW": 10}
    with pytest.raises(AttributeError):
        p.N_SHOW = 3


def test_missing_parameter_is_named():
    with pytest.raises(ParameterError, match=r"^EPOCHS is not set: the parameters cell must define it"):
        validate(DECLS, {"N_TRAIN": 10, "N_SHOW": 1, "SWITCH": []})


def test_unknown_upper_case_names_are_rejected_with_suggestions():
    namespace = {"N_TRAIN": 1, "N_SHOW": 1, "EPOCHS": 1, "SWITCH": [], "np": np, "In": [], "_x": 1, "x1": 2}
    check_names(DECLS, namespace)  # lower case, private and mixed-case names are not parameters
    with pytest.raises(ParameterError, match=r"^unknown name N_TRAINS: not a parameter of this section \(did you "
                                              r"mean N_TRAIN\?\); the parameters are N_TRAIN, N_SHOW, EPOCHS, "
                                              r"SWITCH\.$"):
        check_names(DECLS, namespace | {"N_TRAINS": 50})
    with pytest.raises(ParameterError, match=r"^unknown name ZEBRA: not a parameter of this section; "):
        check_names(DECLS, namespace | {"ZEBRA": 1})
    check_names(DECLS, namespace | {"ZEBRA": 1}, ignore=["ZEBRA"])


@pytest.mark.parametrize("spelling", ["n_train", "N_train", "n_Train", "n_shoW", "Epochs", "switch"])
def test_a_declared_name_in_other_letter_case_is_rejected(spelling):
    # papermill's `-p n_train 50` adds a variable n_train and leaves N_TRAIN at its default.
    namespace = {"N_TRAIN": 1, "N_SHOW": 1, "EPOCHS": 1, "SWITCH": []}
    intended = spelling.upper()
    with pytest.raises(ParameterError, match=rf"^unknown name {spelling}: .*case-sensitive \(did you mean "
                                              rf"{intended}\?\)\.$"):
        check_names(DECLS, namespace | {spelling: 50})


def test_distinct_and_increasing_lists():
    widths = Param("WIDTHS", "list", "widths", item=Param("w", "int", "", low=1), increasing=True)
    assert widths.check([8, 64, 512]) == [8, 64, 512]
    rejects(widths, [512, 64, 8], "WIDTHS = [512, 64, 8] is not allowed: expected a strictly increasing list "
                                  "(WIDTHS[0] = 512 is not below WIDTHS[1] = 64), e.g. [8, 64, 512].")
    rejects(widths, [8, 8], "WIDTHS = [8, 8] is not allowed: expected distinct items (WIDTHS[0] and WIDTHS[1] are "
                            "both 8).")
    eps = Param("EPS_LIST", "list", "budgets", item=Param("e", "float", "", low=0), increasing=True)
    rejects(eps, [0.1, 0.1], "EPS_LIST = [0.1, 0.1] is not allowed: expected distinct items")
    rejects(eps, [1, 1.0], "EPS_LIST = [1, 1.0] is not allowed: expected a strictly increasing list")
    archs = Param("ARCHS", "list", "a", item=Param("a", "choice", "", choices=("fc", "conv")), distinct=True)
    assert archs.check(["conv", "fc"]) == ["conv", "fc"]  # any order
    rejects(archs, ["fc", "conv", "fc"], "ARCHS = ['fc', 'conv', 'fc'] is not allowed: expected distinct items "
                                         "(ARCHS[0] and ARCHS[2] are both 'fc').")
    assert "a distinct list of" in archs.allowed() and "a strictly increasing list of" in widths.allowed()
    plain = Param("DEPTHS", "list", "d", item=Param("d", "int", "", low=1))
    assert plain.check([1, 1]) == [1, 1]  # repeats allowed unless declared otherwise
    with pytest.raises(ValueError, match="only a list of numbers can be increasing"):
        Param("X", "list", "", item=Param("a", "choice", "", choices=("fc",)), increasing=True)
    with pytest.raises(ValueError, match="only a 'list' can be distinct"):
        Param("X", "int", "", distinct=True)


def test_declaration_errors():
    with pytest.raises(ValueError, match="kind = 'number'"):
        Param("X", "number", "")
    with pytest.raises(ValueError, match="needs choices"):
        Param("X", "choice", "")
    with pytest.raises(ValueError, match="needs an item"):
        Param("X", "list", "")

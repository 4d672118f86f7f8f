"""Conformance suite: every attack × norm × loss × model kind keeps the same promises.

Models: the kernel predictor (``predictor.fit``) and a finite stax network, on real MNIST
from the embedded subset, average-pooled to 7×7 so that the whole file runs in seconds.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _tolerances import NORM_SLACK
from ntkcompanion import architectures, attacks, budget_sweeps, data, losses, predictor

EPS = {"linf": 0.1, "l2": 0.5}
STEP = {"linf": 0.02, "l2": 0.1}  # 10 steps of STEP cover at least EPS
STEPS = 10
LABELS = {"bce": ("binary",), "ce": ("onehot",), "margin": ("binary", "onehot")}
CASES = [(loss, labels) for loss, kinds in LABELS.items() for labels in kinds]


def _pool(x):
    """28×28 → 7×7 by 4×4 average pooling (stays in [0, 1])."""
    return x.reshape(len(x), 7, 4, 7, 4, 1).mean(axis=(2, 4)).astype(np.float32)


@functools.lru_cache(maxsize=None)
def task(labels):
    classes = (0, 1) if labels == "binary" else (0, 1, 2)
    t = data.load_task("mnist_embedded", classes=classes, n_train=32, n_test=12, seed=0)
    return _pool(t.x_train), t.y_train, _pool(t.x_test), t.y_test


@functools.lru_cache(maxsize=None)
def model(kind, labels):
    x_train, y_train, x_test, _ = task(labels)
    out_dim = 1 if labels == "binary" else y_train.shape[1]
    if kind == "kernel":
        _, _, kernel_fn = architectures.build("fc", 1)
        return predictor.fit(kernel_fn, x_train, y_train, ridge=1e-3, chunk_size=16)
    init_fn, apply_fn, _ = architectures.build("conv", 1, width=8, out_dim=out_dim)
    _, params = init_fn(jax.random.PRNGKey(0), x_test.shape)
    return jax.tree_util.Partial(apply_fn, params)


def run(attack, logits_fn, x, y, norm, loss, **kwargs):
    if attack == "fgsm":
        return attacks.fgsm(logits_fn, x, y, eps=EPS[norm], norm=norm, loss=loss)
    return attacks.pgd(logits_fn, x, y, eps=EPS[norm], step_size=STEP[norm], steps=STEPS,
                       norm=norm, loss=loss, **kwargs)


@functools.lru_cache(maxsize=None)
def adversarial(attack, norm, loss, labels, kind):
    _, _, x, y = task(labels)
    return np.asarray(run(attack, model(kind, labels), x, y, norm, loss))


def per_example_norm(v, norm):
    v = v.reshape(len(v), -1)
    return np.abs(v).max(1) if norm == "linf" else np.sqrt((v.astype(np.float64) ** 2).sum(1))


def loss_at(kind, labels, loss, x):
    _, _, _, y = task(labels)
    return np.asarray(losses.per_example(loss, model(kind, labels)(x), jnp.asarray(y)))


suite = pytest.mark.parametrize("kind", ["kernel", "network"])
suite_cases = pytest.mark.parametrize("loss, labels", CASES)
suite_norms = pytest.mark.parametrize("norm", attacks.NORMS)
suite_attacks = pytest.mark.parametrize("attack", ["fgsm", "pgd"])


def conformance(test):
    """Every attack × norm × loss × predictor kind."""
    return suite(suite_cases(suite_norms(suite_attacks(test))))


@conformance
def test_stays_in_the_ball_and_the_box_with_shape_and_dtype(attack, norm, loss, labels, kind):
    _, _, x, _ = task(labels)
    x_adv = adversarial(attack, norm, loss, labels, kind)
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert np.all(per_example_norm(x_adv - x, norm) <= EPS[norm] + NORM_SLACK[x.dtype])
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert np.any(x_adv != x), "the attack moved nothing"


@conformance
def test_raises_the_loss(attack, norm, loss, labels, kind):
    # A gradient step need not raise every example's loss (the loss is not concave, the
    # steps are not infinitesimal), so for the plain attacks we assert the average;
    # keep_best makes the per-example statement true by construction.
    _, _, x, _ = task(labels)
    clean = loss_at(kind, labels, loss, x)
    assert loss_at(kind, labels, loss, adversarial(attack, norm, loss, labels, kind)).mean() > clean.mean()
    if attack == "pgd":
        _, _, x, y = task(labels)
        best = run(attack, model(kind, labels), x, y, norm, loss, keep_best=True)
        assert np.all(loss_at(kind, labels, loss, best) >= clean)


@suite
@pytest.mark.parametrize("norm", attacks.NORMS)
def test_works_under_jit_with_the_same_result(norm, kind):
    loss, labels = "margin", "onehot"
    _, _, x, y = task(labels)
    logits_fn = model(kind, labels)
    jitted = jax.jit(lambda x: run("pgd", logits_fn, x, y, norm, loss))
    np.testing.assert_allclose(jitted(x), adversarial("pgd", norm, loss, labels, kind), atol=1e-6)


@suite
@suite_norms
def test_random_start_is_deterministic_for_a_key(norm, kind):
    _, _, x, y = task("binary")
    logits_fn = model(kind, "binary")
    a, b, c = (run("pgd", logits_fn, x, y, norm, "bce", random_start=True, key=jax.random.PRNGKey(s))
               for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)
    assert np.all(per_example_norm(np.asarray(a) - x, norm) <= EPS[norm] + NORM_SLACK[x.dtype])


@suite
@pytest.mark.parametrize("labels", ["binary", "onehot"])
def test_pgd_at_least_as_strong_as_fgsm(labels, kind):
    loss = losses.default_loss(task(labels)[3])
    _, _, x, y = task(labels)
    logits_fn = model(kind, labels)
    assert STEP["linf"] * STEPS >= EPS["linf"]
    fgsm_accuracy = attacks.accuracy(logits_fn, adversarial("fgsm", "linf", loss, labels, kind), y)
    pgd_accuracy = attacks.accuracy(logits_fn, adversarial("pgd", "linf", loss, labels, kind), y)
    assert pgd_accuracy <= fgsm_accuracy <= attacks.accuracy(logits_fn, x, y)


def test_training_free_attack_breaks_the_kernel_predictor():
    # Science, not plumbing: the clean kernel predictor separates 0s from 1s, and PGD at
    # ε = 0.3 (7×7 pooled pixels: 0/1 is an easy pair) defeats it without any training.
    _, _, x, y = task("binary")
    predict_fn = model("kernel", "binary")
    assert attacks.accuracy(predict_fn, x, y) >= 0.9
    x_adv = attacks.pgd(predict_fn, x, y, eps=0.3, step_size=0.075, steps=10)
    assert attacks.accuracy(predict_fn, x_adv, y) <= 0.25


def test_zero_eps_is_the_identity():
    _, _, x, y = task("binary")
    np.testing.assert_array_equal(attacks.fgsm(model("kernel", "binary"), x, y, eps=0.0), x)


def test_plain_function_models_work():
    _, _, x, y = task("binary")
    predict_fn = model("kernel", "binary")
    as_lambda = attacks.pgd(lambda z: predict_fn(z), x, y, eps=0.1, step_size=0.02, steps=3)
    as_pytree = attacks.pgd(predict_fn, x, y, eps=0.1, step_size=0.02, steps=3)
    np.testing.assert_allclose(as_lambda, as_pytree, atol=1e-6)


@pytest.mark.parametrize("labels", ["binary", "multiclass"])
@pytest.mark.parametrize("fast", [True, False])
def test_the_attacks_evaluation_of_a_kernel_predictor_is_the_predictors(fast, labels, monkeypatch):
    """The attack's own plan (no rematerialisation; active pixels only for the closed form) changes the
    cost, not the function: values and input gradients equal the predictor's, also where a test image is
    lit on pixels that every training image leaves dark (the compressed norm coordinate)."""
    from ntkcompanion import kernels

    x_train, y_train, x_test, _ = task(labels)
    dark = np.all(x_train.reshape(len(x_train), -1) == 0, axis=0)
    assert dark.any() and not dark.all()
    x = x_test.reshape(len(x_test), -1).copy()
    x[:2, dark] = 0.5
    x = jnp.asarray(x.reshape(x_test.shape))
    # 24 does not divide n_train: the last chunk is padded.
    f = predictor.fit(kernels.kernel_fn("fc", 1, fast=fast), x_train, y_train, ridge=1e-3, chunk_size=24)
    leaves, _ = attacks._split(f)
    plan, pixels = attacks.kernel_plan.plan(f, leaves, x)
    assert plan is not None
    assert plan[2] == (int((~dark).sum()) if fast else None)  # the active pixels, for the closed form only
    assert len(x_train) % 24 and plan[3] == len(x_train) - 24 * (leaves[0].shape[0] - 1)  # padding skipped
    planned = attacks.kernel_plan.planned_logits(leaves, pixels, plan)
    value_and_grad = lambda g: jax.value_and_grad(lambda z: jnp.sum(jnp.sin(g(z))))(x)  # noqa: E731
    (v_plan, g_plan), (v_own, g_own) = value_and_grad(planned), value_and_grad(f)
    np.testing.assert_allclose(planned(x), f(x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(v_plan, v_own, rtol=1e-4)
    np.testing.assert_allclose(g_plan, g_own, atol=1e-4 * float(jnp.abs(g_own).max()))
    assert float(jnp.abs(g_own.reshape(len(x), -1)[:2, dark]).max()) > 0  # the dark pixels do move
    # Over the budget: the predictor's own evaluation.
    monkeypatch.setattr(attacks.kernel_plan, "RESIDUAL_BUDGET", 0)
    assert attacks.kernel_plan.plan(f, leaves, x) == (None, None)


def test_pgd_on_a_kernel_predictor_equals_pgd_on_it_as_an_opaque_function():
    from ntkcompanion import kernels

    x_train, y_train, x_test, y_test = task("binary")
    f = predictor.fit(kernels.kernel_fn("fc", 1), x_train, y_train, ridge=1e-3, chunk_size=16)
    planned = np.asarray(attacks.pgd(f, x_test, y_test, eps=0.1, step_size=0.02, steps=10))
    opaque = np.asarray(attacks.pgd(lambda z: f(z), x_test, y_test, eps=0.1, step_size=0.02, steps=10))
    # Equal but for the rare pixel whose gradient is so near zero that rounding flips its sign.
    assert np.mean(np.abs(planned - opaque) > 1e-6) < 0.01


def test_default_loss_follows_the_labels():
    _, _, x, y = task("onehot")
    logits_fn = model("kernel", "onehot")
    np.testing.assert_array_equal(attacks.fgsm(logits_fn, x, y, eps=0.1),
                                  attacks.fgsm(logits_fn, x, y, eps=0.1, loss="ce"))


def test_bce_is_the_authors_binary_cross_entropy():
    f = jnp.array([-3.0, -0.2, 0.0, 0.7, 40.0])
    y = jnp.array([1.0, -1.0, 1.0, -1.0, -1.0])
    p, target = jax.nn.sigmoid(f), (y + 1) / 2
    expected = -(target * jnp.log(p) + (1 - target) * jnp.log1p(-p))
    np.testing.assert_allclose(losses.bce(f[:4], y[:4]), expected[:4], rtol=1e-6)
    np.testing.assert_allclose(losses.bce(f[4:], y[4:]), [40.0], rtol=1e-6)  # stable where log(1-p) is not


def test_margin_is_positive_exactly_when_wrong():
    z = jnp.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    y = jnp.eye(3)[jnp.array([0, 2])]
    np.testing.assert_allclose(losses.margin(z, y), [-1.0, 2.0])
    np.testing.assert_array_equal(losses.correct(z, y), [True, False])


BAD = [
    ({"eps": -0.1}, "eps"), ({"step_size": 0.0}, "step_size"), ({"steps": 0}, "steps"),
    ({"norm": "l1"}, "norm"), ({"loss": "mse"}, "loss"), ({"loss": "ce"}, "loss"),
    ({"random_start": True}, "key"), ({"clip": (1.0, 0.0)}, "clip"),
]


@pytest.mark.parametrize("kwargs, name", BAD)
def test_bad_parameters_fail_fast(kwargs, name):
    _, _, x, y = task("binary")

    def never_called(_):
        raise AssertionError("validation must come before any work")

    args = {"eps": 0.1, "step_size": 0.01, "steps": 2, **kwargs}
    with pytest.raises(ValueError, match=name):
        attacks.pgd(never_called, x, y, **args)


def test_mismatched_labels_fail_fast():
    _, _, x, y = task("binary")
    with pytest.raises(ValueError, match="y has shape"):
        attacks.fgsm(model("kernel", "binary"), x, y[:-1], eps=0.1)
    with pytest.raises(ValueError, match="logits have shape"):
        attacks.fgsm(model("kernel", "onehot"), x, y, eps=0.1, loss="margin")


@pytest.mark.slow
def test_benchmark_quick_run():
    import pathlib
    import subprocess
    import sys

    script = pathlib.Path(__file__).parents[1] / "benchmarks" / "bench_attacks.py"
    out = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True,
                         check=True).stdout
    assert "speed-up" in out and "% of matmul" in out and "peak RSS" in out


def test_foolbox_benchmark_quick_run():
    """The peer-library benchmark runs and both libraries take the same steps (benchmark extra only)."""
    import pathlib
    import subprocess
    import sys

    pytest.importorskip("foolbox")
    script = pathlib.Path(__file__).parents[1] / "benchmarks" / "bench_foolbox.py"
    out = subprocess.run([sys.executable, str(script), "--quick", "--repeats", "1"], capture_output=True,
                         text=True, check=True).stdout
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| ") and "pgd" in line]
    assert len(rows) == 4 and "foolbox / this" in out
    assert all(float(row[7]) < 1e-3 for row in rows), out  # fraction of pixels differing from foolbox's


# --- the noise control and the budget sweep (section 2) -------------------------------------------

@suite_norms
def test_random_sign_is_a_point_of_the_ball_of_radius_eps_in_the_box(norm):
    _, _, x, _ = task("binary")
    eps = EPS[norm]
    noisy = attacks.random_sign(x, eps=eps, norm=norm, seed=3, clip=None)
    size = per_example_norm(noisy - x, norm)
    np.testing.assert_allclose(size, eps, rtol=1e-5)        # on the sphere (ℓ2) or a vertex (ℓ∞)
    signs = np.sign(noisy - x)
    assert set(np.unique(signs)) == {-1.0, 1.0} and abs(signs.mean()) < 0.2   # both signs, balanced
    clipped = attacks.random_sign(x, eps=eps, norm=norm, seed=3)
    assert clipped.dtype == x.dtype and clipped.min() >= 0 and clipped.max() <= 1
    np.testing.assert_array_equal(clipped, attacks.random_sign(x, eps=eps, norm=norm, seed=3))
    assert not np.array_equal(clipped, attacks.random_sign(x, eps=eps, norm=norm, seed=4))


def test_correct_and_predicted_labels_follow_the_label_conventions():
    scores = jnp.array([2.0, -1.0, 0.5, -0.5])
    fn = jax.tree_util.Partial(lambda s, x: s[: len(x)], scores)
    x = np.zeros((4, 2, 2, 1), np.float32)
    np.testing.assert_array_equal(attacks.predicted_labels(fn, x), [1, 0, 1, 0])
    np.testing.assert_array_equal(attacks.correct(fn, x, np.array([1.0, 1.0, -1.0, -1.0])),
                                  [True, False, False, True])
    logits = jnp.array([[0.1, 0.9, 0.0], [2.0, 0.0, 1.0]])
    multi = jax.tree_util.Partial(lambda s, x: s[: len(x)], logits)
    np.testing.assert_array_equal(attacks.predicted_labels(multi, x[:2]), [1, 0])
    np.testing.assert_array_equal(attacks.correct(multi, x[:2], np.eye(3)[[1, 2]]), [True, False])


def test_sweep_matches_the_single_attacks_and_the_noise_control():
    _, _, x, y = task("binary")
    predict_fn = model("kernel", "binary")
    grid = [0.2, 0.0, 0.1, 0.2]                              # unsorted, duplicated: becomes [0, 0.1, 0.2]
    sweep = budget_sweeps.sweep(predict_fn, x, y, grid, steps=5, step_size=0.05, step_at=0.2, batch_size=5,
                          seed=7, keep=0.1)
    np.testing.assert_array_equal(sweep.eps, [0.0, 0.1, 0.2])
    assert set(sweep.correct) == set(budget_sweeps.KINDS) and sweep.correct["PGD"].shape == (3, len(x))
    for kind in budget_sweeps.KINDS:                               # ε = 0: the clean accuracy for every kind
        assert sweep.accuracy(kind)[0] == attacks.accuracy(predict_fn, x, y)
    # At ε = 0.1 the step is scaled to 0.05 · 0.1 / 0.2 = 0.025.
    x_pgd = np.asarray(attacks.pgd(predict_fn, x, y, eps=0.1, step_size=0.025, steps=5))
    np.testing.assert_allclose(sweep.adversarial["PGD"], x_pgd, atol=1e-6)
    np.testing.assert_array_equal(sweep.correct["PGD"][1], attacks.correct(predict_fn, x_pgd, y))
    x_fgsm = np.asarray(attacks.fgsm(predict_fn, x, y, eps=0.2))
    np.testing.assert_array_equal(sweep.correct["FGSM"][2], attacks.correct(predict_fn, x_fgsm, y))
    np.testing.assert_array_equal(sweep.adversarial["noise"], attacks.random_sign(x, eps=0.1, seed=7))
    # The attack is what hurts, not the perturbation's size.
    assert sweep.accuracy("PGD")[2] < sweep.accuracy("noise")[2] - 0.3
    only = budget_sweeps.sweep(predict_fn, x, y, [0.1], kinds=("noise",), steps=1, step_size=0.1)
    assert set(only.correct) == {"noise"} and only.adversarial == {}
    with pytest.raises(ValueError, match="kinds"):
        budget_sweeps.sweep(predict_fn, x, y, [0.1], kinds=("CW",), steps=1, step_size=0.1)
    with pytest.raises(ValueError, match="keep"):
        budget_sweeps.sweep(predict_fn, x, y, [0.1], steps=1, step_size=0.1, keep=0.3)


# --- The training-free attack of section 2: fit and sweep per task and kernel, and its tables ---

from types import SimpleNamespace  # noqa: E402

from ntkcompanion import kernels  # noqa: E402


def pooled_task(labels):
    x_train, y_train, x_test, y_test = task(labels)
    return SimpleNamespace(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


SWEEP = {"steps": 3, "step_size": 0.05, "step_at": 0.1, "keep": 0.1, "seed": 0}


def test_kernel_sweeps_fit_each_kernel_and_sweep_it_like_the_single_calls(tmp_path, monkeypatch):
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path / "cache"))
    tasks = {"binary": pooled_task("binary"), "all classes": pooled_task("onehot")}
    fits = budget_sweeps.kernel_sweeps(tasks, {"binary": ["fc"], "all classes": ["fc"]}, [0.0, 0.1], depth=1,
                                 batch_size=5, **SWEEP)
    assert list(fits) == ["binary", "all classes"] and all(list(f) == ["fc"] for f in fits.values())
    assert fits["all classes"]["fc"].sweep.correct["PGD"].shape == (2, len(tasks["all classes"].x_test))
    for name, t in [("binary", tasks["binary"])]:
        # The same predictor fitted without the cache, swept alone.
        direct = predictor.fit(kernels.kernel_fn("fc", 1), t.x_train, t.y_train,
                               k_train_train=kernels.gram(t.x_train, None, "fc", 1, cache=False))
        alone = budget_sweeps.sweep(direct, t.x_test, t.y_test, [0.0, 0.1], **SWEEP)
        got = fits[name]["fc"]
        np.testing.assert_allclose(np.asarray(got.predict_fn(t.x_test)), np.asarray(direct(t.x_test)),
                                   rtol=1e-3, atol=1e-3)  # float32 solves
        for kind in budget_sweeps.KINDS:
            assert (got.sweep.correct[kind] == alone.correct[kind]).mean() >= 0.9  # float32 ties may flip
        # the clean row is the predictor's own correctness on the test images
        np.testing.assert_array_equal(got.sweep.correct["PGD"][0], attacks.correct(direct, t.x_test, t.y_test))


def test_kernel_sweeps_skip_empty_lists_and_reject_unknown_tasks(tmp_path, monkeypatch):
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path / "cache"))
    tasks = {"binary": pooled_task("binary")}
    fits = budget_sweeps.kernel_sweeps(tasks, {"binary": []}, [0.0, 0.1], depth=1, **SWEEP)
    assert fits == {}
    with pytest.raises(ValueError, match="'other'"):
        budget_sweeps.kernel_sweeps(tasks, {"other": ["fc"]}, [0.0, 0.1], depth=1, **SWEEP)


def test_kernel_sweep_examples_are_the_kept_images_and_their_predicted_labels():
    x_train, y_train, x_test, y_test = task("onehot")
    fn = model("kernel", "onehot")
    kept = budget_sweeps.sweep(fn, x_test, y_test, [0.0, 0.1], **SWEEP)
    fit = budget_sweeps.KernelSweep(fn, kept)
    x_adv, clean, adv = fit.examples(x_test, 4)
    np.testing.assert_array_equal(x_adv, kept.adversarial["PGD"][:4])
    scores = np.asarray(fn(x_test[:4]))
    np.testing.assert_array_equal(clean, scores.argmax(axis=1))
    assert adv.shape == (4,) and set(adv) <= {0, 1, 2}
    with pytest.raises(ValueError, match="keep="):
        budget_sweeps.KernelSweep(fn, budget_sweeps.Sweep(kept.eps, kept.correct, {})).examples(x_test, 4)


# Planted sweeps: PGD right on 4, 2, 0 of 4 points at ε = 0, 0.1, 0.2 (halves exactly at 0.1);
# noise always right (never halves).
PLANTED_EPS = np.array([0.0, 0.1, 0.2])
PLANTED = {"PGD": np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], np.uint8),
           "FGSM": np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0]], np.uint8),
           "noise": np.ones((3, 4), np.uint8)}


def planted_run(multi=("fc",), architectures=("fc", "conv")):
    def fake_task(names):
        return SimpleNamespace(class_names=names, n_train=10, n_test=4, labels_test=np.array([0, 1, 0, 1]),
                               title=" vs ".join(names) if len(names) == 2 else f"{len(names)}-class")
    tasks = {"binary": fake_task(("3", "5"))}
    fits = {"binary": {a: SimpleNamespace(sweep=budget_sweeps.Sweep(PLANTED_EPS, PLANTED, {})) for a in architectures}}
    if multi:
        tasks["all classes"] = fake_task(tuple("0123456789"))
        fits["all classes"] = {a: SimpleNamespace(sweep=budget_sweeps.Sweep(PLANTED_EPS, PLANTED, {})) for a in multi}
    p = {"EPS": 0.1, "EPS_LIST": [0.2, 0.1], "ARCHITECTURES": list(architectures),
         "MULTICLASS_ARCHITECTURES": list(multi), "ATTACK_STEPS": 3, "NORM": "linf", "DEPTH": 2,
         "BATCH_SIZE": 7, "ATTACK_STEP_SIZE": 0.02, "SEED": 0}
    return p, tasks, fits


def test_budget_tables_are_tidy_with_halving_text_and_the_table_at_eps():
    p, tasks, fits = planted_run()
    tables = budget_sweeps.budget_tables(tasks, fits)
    assert len(tables.curves) == 3 * 3 * 3  # three runs × three kinds × three budgets
    assert set(tables.curves["task"]) == {"3 vs 5", "10-class"}
    table = tables.at(0.1)
    assert list(table.index) == [("3 vs 5", "fc"), ("3 vs 5", "conv"), ("10-class", "fc")]
    assert (table["at EPS: PGD"] == 0.5).all() and (table["at EPS: noise"] == 1.0).all()
    assert (table["at EPS: FGSM"] == 0.75).all()
    assert (table["ε½ [95% CI]: noise"] == "not reached").all()
    assert all(text.startswith("0.1 [") for text in table["ε½ [95% CI]: PGD"])
    # FGSM: 1 → 0.75 → 0.25 halves at 0.1 + 0.1 · (0.75 − 0.5) / (0.75 − 0.25) = 0.15
    assert tables.half_text("FGSM")["3 vs 5", "fc"].startswith("0.15 [")

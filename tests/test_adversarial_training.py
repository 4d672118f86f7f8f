"""Training loops: attacks really shape the training images, snapshots use fixed images, runs resume safely.

Tiny MLPs on 7×7 average-pooled MNIST from the embedded subset keep the file to seconds.
"""

import dataclasses

import jax
import numpy as np
import optax
import pytest

from ntkcompanion import adversarial_training, architectures, cache, data, training_steps

from _tolerances import assert_close


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def pooled(x):
    n, h, w, c = x.shape
    return np.ascontiguousarray(x.reshape(n, h // 4, 4, w // 4, 4, c).mean(axis=(2, 4)))


@pytest.fixture(scope="module")
def task():
    t = data.load_task("mnist_embedded", [0, 1, 2], n_train=48, n_test=24, seed=0)
    return pooled(t.x_train), t.y_train, pooled(t.x_test), t.y_test


CONFIG = adversarial_training.TrainConfig(
    network="mlp", width=16, depth=1, mode="pgd", eps=0.1, step_size=0.03, steps=3, learning_rate=0.1,
    batch_size=16, epochs=3, eval_eps=0.1, eval_step_size=0.05, eval_steps=2, snapshot_every=1,
    n_snapshot=6, kernel_batch_size=6)


def run(task, **changes):
    return adversarial_training.train(dataclasses.replace(CONFIG, **changes), *task, progress=False)


def test_snapshots_use_the_same_images_at_every_epoch(task):
    result = run(task)
    assert result.snapshot_epochs == [0, 1, 2, 3]
    expected = cache.fingerprint(task[0][result.snapshot_indices])
    assert result.snapshot_fingerprints == [expected] * 4
    kernels = result.kernels()
    assert [k.shape for k in kernels] == [(6, 6, 3, 3)] * 4
    assert not np.allclose(kernels[0], kernels[-1]), "training moves the kernel"
    # The subset depends on the seed and the data size only, not on the epoch or the run length.
    np.testing.assert_array_equal(adversarial_training.snapshot_indices(48, 6, 0), result.snapshot_indices)
    assert adversarial_training.snapshot_epochs(7, 3) == [0, 3, 6, 7]
    assert adversarial_training.snapshot_epochs(7, 0) == []


def test_attack_steps_change_the_training_images(task):
    x, y = task[0][:16], task[1][:16]
    init_fn, apply_fn, _ = architectures.build("mlp", 1, width=16, out_dim=3)
    _, params = init_fn(jax.random.PRNGKey(0), x.shape)
    key = jax.random.PRNGKey(1)

    def images(**changes):
        return np.asarray(training_steps.adversarial_examples(apply_fn, params, x, y, key,
                                                              dataclasses.replace(CONFIG, **changes)))

    clean, fgsm = images(mode="standard"), images(mode="fgsm")
    pgd1, pgd5 = images(mode="pgd", steps=1), images(mode="pgd", steps=5)
    np.testing.assert_array_equal(clean, x)
    for a, b in [(fgsm, pgd5), (pgd1, pgd5), (clean, fgsm)]:
        assert np.abs(a - b).max() > 1e-3
    # PGD with one step of size ε from x is FGSM.
    assert_close(images(mode="pgd", steps=1, step_size=0.1), fgsm)
    assert np.abs(pgd5 - x).max() <= 0.1 + 1e-6

    # ... and inside the jitted training step, the number of steps changes the update.
    optimizer = optax.sgd(0.1)

    def updated(**changes):
        step = training_steps.make_step(apply_fn, optimizer, dataclasses.replace(CONFIG, **changes))
        return step(params, optimizer.init(params), x, y, key)[0]

    leaves = [jax.tree_util.tree_leaves(updated(mode="pgd", steps=s)) for s in (1, 5)]
    assert max(float(np.abs(a - b).max()) for a, b in zip(*leaves)) > 1e-6
    # Every attack setting a mode uses is part of its cache key; unused ones are not.
    keys = lambda **c: dataclasses.replace(CONFIG, **c).trajectory_fields()  # noqa: E731
    assert keys(steps=1) != keys(steps=5)
    assert keys(mode="standard", steps=1) == keys(mode="standard", steps=5)
    assert keys(mode="fgsm", eps=0.1) != keys(mode="fgsm", eps=0.2)


def test_resume_after_a_crash_equals_an_uninterrupted_run(task, cache_dir, tmp_path, monkeypatch):
    # Crash while writing the state of epoch 2, after half the file reached the disk.
    real_savez, writes = np.savez, []

    def crash_on_third_state(file, **arrays):
        if "leaf_0" in arrays:
            writes.append(1)
            if len(writes) == 2:
                real_savez(file, **arrays)
                file.truncate(100)
                raise KeyboardInterrupt
        real_savez(file, **arrays)

    monkeypatch.setattr(np, "savez", crash_on_third_state)
    with pytest.raises(KeyboardInterrupt):
        run(task)
    monkeypatch.setattr(np, "savez", real_savez)
    assert not list(cache_dir.rglob("*.tmp")), "no temporary file survives"

    # The rerun loads epoch 1 from its checkpoint and trains epochs 2 and 3.
    epochs, resumed = trained_epochs(monkeypatch, lambda: run(task))
    assert epochs == [2, 3]

    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path / "fresh"))
    fresh = run(task)
    for a, b in zip(jax.tree_util.tree_leaves(resumed.params), jax.tree_util.tree_leaves(fresh.params)):
        assert_close(a, b)
    for name in ("clean_accuracy", "robust_accuracy"):
        np.testing.assert_array_equal(resumed.history[name], fresh.history[name])

    # A finished run is loaded, not retrained; a longer one trains only the new epoch.
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(cache_dir))
    assert trained_epochs(monkeypatch, lambda: run(task))[0] == []
    assert trained_epochs(monkeypatch, lambda: run(task, epochs=4))[0] == [4]


def trained_epochs(monkeypatch, fn):
    """``(epochs, result)``: the epochs ``fn()`` trains (rather than loads from a checkpoint), its result."""
    epochs, real = [], adversarial_training.sgd_epoch

    def counting(*args):
        epochs.append(args[6])
        return real(*args)

    monkeypatch.setattr(adversarial_training, "sgd_epoch", counting)
    result = fn()
    monkeypatch.setattr(adversarial_training, "sgd_epoch", real)
    return epochs, result


@pytest.mark.parametrize("k", [1, 3])
def test_a_run_interrupted_after_k_epochs_resumes_from_epoch_k(task, monkeypatch, k):
    real_save, saved = adversarial_training.cache.save_tree, []

    def interrupt_after_k(entry_key, tree, extra=None):
        if len(saved) == k:
            raise KeyboardInterrupt  # the session ends while epoch k + 1 is being written
        saved.append(entry_key)
        real_save(entry_key, tree, extra)

    monkeypatch.setattr(adversarial_training.cache, "save_tree", interrupt_after_k)
    with pytest.raises(KeyboardInterrupt):
        run(task, mode="standard", epochs=5, snapshot_every=0)
    monkeypatch.setattr(adversarial_training.cache, "save_tree", real_save)
    resumed, _ = trained_epochs(monkeypatch, lambda: run(task, mode="standard", epochs=5, snapshot_every=0))
    assert resumed == list(range(k + 1, 6)), "epochs 1..k come from their checkpoints"
    assert trained_epochs(monkeypatch, lambda: run(task, mode="standard", epochs=5, snapshot_every=0))[0] == []


def test_history_and_standard_training_learns(task):
    result = run(task, mode="standard", epochs=4, snapshot_every=2)
    history = result.history
    assert list(history["epoch"]) == [0, 1, 2, 3, 4]
    assert np.isnan(history["train_loss"][0])
    assert history["train_loss"][-1] < history["train_loss"][1]
    assert history["clean_accuracy"][-1] > 0.45  # chance: 1/3
    assert np.all(history["robust_accuracy"] <= history["clean_accuracy"] + 1e-9)
    assert result.snapshot_epochs == [0, 2, 4]
    sparse = run(task, mode="standard", epochs=4, snapshot_every=2, eval_every=3).history
    assert list(np.isnan(sparse["clean_accuracy"])) == [False, True, True, False, False]
    assert sparse["clean_accuracy"][-1] == history["clean_accuracy"][-1]


def test_binary_labels_train_with_bce():
    # 4x4-pooled digits are faint (mean pixel 0.11; 0s and 1s differ by about 0.1 on average), so the
    # FGSM radius is scaled to 0.03, and 4 SGD steps per epoch at rate 0.5 let the one-output net
    # leave its initial guess; the bar is the test set's majority rate, not 0.5.
    t = data.load_task("mnist_embedded", [0, 1], n_train=64, n_test=64, seed=0)
    result = adversarial_training.train(
        dataclasses.replace(CONFIG, mode="fgsm", eps=0.03, learning_rate=0.5, n_snapshot=4, snapshot_every=3),
        pooled(t.x_train), t.y_train, pooled(t.x_test), t.y_test, progress=False)
    assert result.kernels()[0].shape == (4, 4, 1, 1)
    majority = max(np.mean(t.y_test > 0), np.mean(t.y_test < 0))
    assert result.history["clean_accuracy"][0] < majority, "the untrained net is no better than a constant"
    assert result.history["clean_accuracy"][-1] > majority + 0.1


def test_linearised_training_starts_from_the_network_at_epoch_e(task):
    base = run(task, mode="standard", epochs=2, snapshot_every=0)
    at_end = run(task, mode="standard", epochs=2, snapshot_every=0, linearize_from=2)
    theta, anchor = at_end.params
    for a, b, c in zip(*(jax.tree_util.tree_leaves(t) for t in (base.params, theta, anchor))):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    linear = run(task, mode="standard", epochs=3, linearize_from=1)
    assert list(linear.history["epoch"]) == [1, 2, 3]
    assert linear.snapshot_epochs == [], "the linearised network's kernel is constant"
    assert linear.history["clean_accuracy"][0] == pytest.approx(base.history["clean_accuracy"][1])
    # Training moves θ, never the anchor θ_1.
    theta, anchor = linear.params
    one = run(task, mode="standard", epochs=1, snapshot_every=0).params
    for a, b in zip(jax.tree_util.tree_leaves(anchor), jax.tree_util.tree_leaves(one)):
        np.testing.assert_array_equal(a, b)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(jax.tree_util.tree_leaves(theta),
                                                       jax.tree_util.tree_leaves(anchor)))
    from_init = run(task, mode="pgd", epochs=2, linearize_from=0)
    assert list(from_init.history["epoch"]) == [0, 1, 2]


def test_the_linearised_model_is_the_first_order_taylor_expansion(task):
    init_fn, apply_fn = training_steps.network("mlp", 1, 16, 3)
    _, anchor = init_fn(jax.random.PRNGKey(0), (-1,) + task[0].shape[1:])
    direction = jax.tree_util.tree_map(lambda a: 1e-3 * jax.random.normal(jax.random.PRNGKey(1), a.shape), anchor)
    x = task[0][:5]
    f_lin = training_steps.linearised(apply_fn)
    at_anchor = np.asarray(f_lin((anchor, anchor), x))
    np.testing.assert_array_equal(at_anchor, np.asarray(apply_fn(anchor, x)))
    # Exactly linear in θ: doubling the step doubles the change; close to the network for small steps.
    step = lambda s: jax.tree_util.tree_map(lambda a, d: a + s * d, anchor, direction)  # noqa: E731
    change1 = np.asarray(f_lin((step(1.0), anchor), x)) - at_anchor
    change2 = np.asarray(f_lin((step(2.0), anchor), x)) - at_anchor
    np.testing.assert_allclose(change2, 2 * change1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(apply_fn(step(1.0), x)) - at_anchor, change1, rtol=5e-2, atol=1e-4)


def test_the_cnn_is_the_authors_network():
    init_fn, apply_fn, _ = architectures.cnn(3, width=1.0, out_dim=10)
    shape, params = init_fn(jax.random.PRNGKey(0), (2, 32, 32, 3))
    assert shape == (2, 10)
    kernels = [p[0].shape for p in params if isinstance(p, tuple) and len(p) == 2 and p[0].ndim == 4]
    assert [k[-1] for k in kernels] == [32, 32, 64, 64, 128, 128]
    dense = [p[0].shape for p in params if isinstance(p, tuple) and len(p) == 2 and p[0].ndim == 2]
    assert dense == [(8 * 8 * 128, 10)]  # 32 → MaxPool 16 → AvgPool 8
    assert apply_fn(params, np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 10)


@pytest.mark.parametrize("changes, match", [
    (dict(mode="pgd2"), "mode = 'pgd2' is not allowed: expected one of 'standard', 'fgsm', 'pgd'"),
    (dict(network="resnet"), "network = 'resnet'"),
    (dict(steps=0), "steps = 0"),
    (dict(eps=-0.1), "eps = -0.1"),
    (dict(norm="l1"), "norm = 'l1'"),
    (dict(learning_rate=0), "learning_rate = 0"),
    (dict(linearize_from=9), "linearize_from = 9"),
    (dict(n_snapshot=49), "n_snapshot = 49"),
])
def test_bad_parameters_fail_fast(task, changes, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        run(task, **changes)


def test_messages_use_the_names_the_user_typed():
    with pytest.raises(ValueError, match="MODES\\[1\\] = 'fast'"):
        dataclasses.replace(CONFIG, mode="fast").check({"mode": "MODES[1]"})


def test_a_fractional_switch_linearises_inside_the_epoch_after_the_networks_first_steps(task):
    # 48 images in batches of 16: three SGD steps per epoch; a switch at 1 + 1/3 epochs is one step into epoch 2.
    assert adversarial_training.switch_batches(1 + 1 / 3, 48, 16) == 1
    assert adversarial_training.switch_batches(2, 48, 16) == 0
    with pytest.raises(ValueError, match="linearize_from = 1.1"):
        adversarial_training.switch_batches(1.1, 48, 16)  # 0.3 steps
    one = run(task, mode="standard", epochs=1, snapshot_every=0)
    switched = run(task, mode="standard", epochs=3, linearize_from=1 + 1 / 3)
    assert switched.history["epoch"][0] == pytest.approx(4 / 3) and list(switched.history["epoch"][1:]) == [2, 3]
    # The anchor is the network after epoch 1 and the first batch of epoch 2 (the full run's own batch order).
    x, y = task[0], task[1]
    config = dataclasses.replace(CONFIG, mode="standard")
    _, apply_fn = training_steps.network("mlp", 1, 16, 3)
    optimizer, step = training_steps.training_step(apply_fn, config)
    first = np.random.default_rng([config.seed, 2]).permutation(len(x))[:config.batch_size]
    train_key = jax.random.split(jax.random.PRNGKey(config.seed), 3)[1]
    params = jax.tree_util.tree_map(np.asarray, one.params)
    expected, _, _ = step(params, optimizer.init(params), x[first], y[first],
                          jax.random.fold_in(jax.random.fold_in(train_key, 2), 0))
    theta, anchor = switched.params
    for a, b in zip(jax.tree_util.tree_leaves(anchor), jax.tree_util.tree_leaves(expected)):
        assert_close(a, b)
    # The linearised model then takes the rest of the steps: θ leaves the anchor.
    assert any(np.abs(a - b).max() > 0 for a, b in zip(jax.tree_util.tree_leaves(theta),
                                                       jax.tree_util.tree_leaves(anchor)))

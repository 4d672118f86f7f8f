"""The linearisation search, the laziness measurements and the inputs they give claim 7, on planted runs."""

import dataclasses
import types

import numpy as np
import pytest

from ntkcompanion import adversarial_training, laziness
from ntkcompanion import evidence as ev

CONFIG = adversarial_training.TrainConfig(network="mlp", width=8, depth=1, epochs=10, seed=3)
TASK = types.SimpleNamespace(x_train=np.zeros((1000, 1, 1, 1)), y_train=None, x_test=None, y_test=None)


def planted_train(final_by_switch: dict, calls: list, robust_by_switch: dict | None = None):
    """A stand-in for ``adversarial_training.train``: a linearised run's final accuracies by switch epoch."""

    def train(config, *data, progress=True, desc=None):
        calls.append(config.linearize_from)
        clean = final_by_switch[config.linearize_from]
        robust = (robust_by_switch or final_by_switch)[config.linearize_from]
        history = {"clean_accuracy": np.array([np.nan, clean]), "robust_accuracy": np.array([np.nan, robust])}
        return types.SimpleNamespace(history=history, config=config)

    return train


def both(accuracy):
    return {"clean": accuracy, "robust": accuracy}


@pytest.mark.parametrize("mode", ["standard", "pgd"])
def test_the_search_runs_from_the_last_switch_back_to_the_first_outside_the_margin(monkeypatch, mode):
    calls = []
    # Within the margin from epoch 4 on; at epoch 0 too, by chance, but never needed: 2 is outside.
    monkeypatch.setattr(adversarial_training, "train", planted_train({0: 0.95, 2: 0.90, 4: 0.95, 6: 0.96}, calls))
    config = dataclasses.replace(CONFIG, mode=mode)
    out = laziness.switch_search(config, [0, 2, 4, 6], TASK, full=both(0.96), margin=0.02, progress=False)
    assert calls == [6, 4, 2]
    np.testing.assert_array_equal(out["clean"][1:], [0.90, 0.95, 0.96])
    assert np.isnan(out["clean"][0]) and np.isnan(out["robust"][0])
    assert ev.lazy_epochs([0, 2, 4, 6], out["clean"][None], [0.96]).tolist() == [4]
    # A linearised run that ends far *above* the full run is not within the margin either.
    calls.clear()
    monkeypatch.setattr(adversarial_training, "train", planted_train({0: 0.99, 2: 0.99}, calls))
    out = laziness.switch_search(config, [0, 2], TASK, full=both(0.90), margin=0.02, progress=False)
    assert calls == [2] and ev.lazy_epochs([0, 2], out["clean"][None], [0.90]).tolist() == [np.inf]


def test_the_search_runs_until_both_accuracies_have_left_the_margin(monkeypatch):
    # Clean accuracy is within the margin from 0.5 on, robust accuracy only from 2: both lazy epochs are found.
    calls = []
    clean = {0: 0.80, 0.5: 0.95, 1: 0.96, 2: 0.96, 4: 0.96}
    robust = {0: 0.30, 0.5: 0.40, 1: 0.45, 2: 0.59, 4: 0.60}
    monkeypatch.setattr(adversarial_training, "train", planted_train(clean, calls, robust))
    full = {"clean": 0.96, "robust": 0.60}
    out = laziness.switch_search(CONFIG, [0, 0.5, 1, 2, 4], TASK, full=full, margin=0.02, progress=False)
    assert calls == [4, 2, 1, 0.5, 0]
    assert ev.lazy_epochs([0, 0.5, 1, 2, 4], out["clean"][None], [0.96]).tolist() == [0.5]
    assert ev.lazy_epochs([0, 0.5, 1, 2, 4], out["robust"][None], [0.60]).tolist() == [2]


def test_switch_epochs_must_increase_and_stay_below_the_last_epoch():
    for bad in ([2, 1], [0, 10], [1, 1], [-0.5, 1]):
        with pytest.raises(ValueError, match="SWITCH_EPOCHS"):
            laziness.switch_search(CONFIG, bad, TASK, full=both(0.9), progress=False)


def test_a_switch_fraction_below_one_step_fails_before_training(monkeypatch):
    calls = []
    monkeypatch.setattr(adversarial_training, "train", planted_train({}, calls))
    task = types.SimpleNamespace(x_train=np.zeros((100, 1, 1, 1)))  # 100 images, batches of 250: one step
    with pytest.raises(ValueError, match="linearize_from = 0.25"):
        laziness.switch_search(CONFIG, [0, 0.25], task, full=both(0.9), progress=False)
    assert calls == []


def run(mode, clean, robust, seed=0, kernels=None, epochs=(0, 1, 2)):
    history = {"clean_accuracy": np.array([0.1, clean]), "robust_accuracy": np.array([0.0, robust])}
    return types.SimpleNamespace(history=history, config=dataclasses.replace(CONFIG, mode=mode, seed=seed),
                                 snapshot_epochs=list(epochs), kernels=lambda: kernels)


def test_targets_name_what_falls_short():
    runs = {"standard": [run("standard", 0.96, 0.1), run("standard", 0.95, 0.1)],
            "fgsm": [run("fgsm", 0.5, 0.1)], "pgd": [run("pgd", 0.9, 0.7), run("pgd", 0.9, 0.6)]}
    assert laziness.adversarial_mode(runs) == "pgd" and laziness.adversarial_mode(["standard", "fgsm"]) == "fgsm"
    assert laziness.undertrained(runs, 0.95, 0.6) is None
    assert laziness.undertrained(runs, 0.97, 0.6) == "standard training's clean accuracy 0.955 < 0.97"
    assert laziness.undertrained(runs, 0.9, 0.7) == "pgd training's robust accuracy 0.650 < 0.7"
    table = laziness.accuracy_table(runs)
    assert table.loc["standard", "clean"] == pytest.approx(0.955) and table.loc["pgd", "seeds"] == 2
    low, high = (float(x) for x in table.loc["standard", "clean 95% CI"].strip("[]").split(","))
    assert 0.0 <= low < 0.955 < high <= 1.0


def test_measures_and_claim7_inputs():
    rng = np.random.default_rng(0)

    def trajectory(drift):
        base = rng.normal(size=(4, 4))
        base = base @ base.T + 4 * np.eye(4)
        return [base + drift * t * np.diag([1.0, 0, 0, 0]) for t in range(3)]

    runs = {"standard": [run("standard", 0.96, 0.1, kernels=trajectory(5.0)) for _ in range(2)],
            "pgd": [run("pgd", 0.9, 0.7, kernels=trajectory(0.1)) for _ in range(2)]}
    measures = {m: laziness.kernel_measures(r, top_k=1) for m, r in runs.items()}
    assert measures["standard"]["velocity"].shape == (2, 2) and measures["pgd"]["topk"].shape == (2, 3)
    assert (measures["standard"]["velocity"] > measures["pgd"]["velocity"]).all()
    inputs = laziness.claim7_inputs(measures, {}, {}, [0, 1], transient_epochs=1)
    assert inputs["transient"] == 1 and "switch_epochs" not in inputs
    velocity, mass = ev.claims.claim7(**inputs, k=1)
    assert velocity.key == "claim7_velocity" and velocity.estimate > 0
    lin = {"standard": both(np.array([[0.9, 0.95]] * 2)), "pgd": both(np.array([[0.7, 0.71]] * 2))}
    full = {"standard": both(np.array([0.96, 0.96])), "pgd": both(np.array([0.7, 0.7]))}
    inputs = laziness.claim7_inputs(measures, lin, full, [0, 1], transient_epochs=0)
    assert inputs["transient"] == 0 and inputs["linearised_adversarial"] is lin["pgd"]
    clean, robust = ev.claims.claim7(**inputs)[:2]
    assert (clean.key, robust.key) == ("claim7_linearisation_clean", "claim7_linearisation_robust")
    assert clean.details["standard"] == [1.0, 1.0] and clean.details["adversarial"] == [0.0, 0.0]
    table = laziness.lazy_epoch_table(lin, full, [0, 1])
    assert table.loc[("standard", "clean")].tolist() == [1.0, 1.0]
    assert table.loc[("pgd", "robust")].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="snapshot epochs"):
        laziness.kernel_measures([run("pgd", 0.9, 0.7, epochs=(0,))], top_k=1)


def test_the_section_refuses_a_switch_fraction_below_one_step(tmp_path, monkeypatch):
    from ntkcompanion import sections

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path / "cache"))
    change = {"N_TRAIN": 200, "BATCH_SIZE": 50, "SWITCH_EPOCHS": [0, 0.1, 1]}  # 4 steps per epoch: 0.1 is 0.4 step
    with pytest.raises(ValueError, match=r"^SWITCH_EPOCHS\[1\] = 0.1 is not allowed: expected a whole epoch or a "
                                         r"fraction that is at least one and less than all 4 SGD steps"):
        sections.setup("08_adversarial_training", sections.defaults("08_adversarial_training") | change,
                       display=False, available=2**34)
    assert not any(tmp_path.iterdir()), "nothing written before the check"


def test_two_identical_training_modes_through_the_whole_pipeline_support_nothing(tmp_path, monkeypatch):
    # PGD training at eps = 0 *is* standard training (the attack cannot move an image): the planted null of
    # claim 7 run end to end, through training, kernel snapshots, the switch search and the verdicts.
    from ntkcompanion import data

    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path / "cache"))
    t = data.load_task("mnist_embedded", [0, 1, 2], n_train=48, n_test=24, seed=0)
    pool = lambda x: x.reshape(len(x), 7, 4, 7, 4, 1).mean(axis=(2, 4))  # noqa: E731
    task = types.SimpleNamespace(x_train=pool(t.x_train), y_train=t.y_train, x_test=pool(t.x_test), y_test=t.y_test)
    config = adversarial_training.TrainConfig(
        network="mlp", width=16, depth=1, eps=0.0, step_size=0.03, steps=2, learning_rate=0.1, batch_size=16,
        epochs=2, eval_eps=0.0, eval_step_size=0.05, eval_steps=1, n_snapshot=4, kernel_batch_size=4)
    runs = laziness.train_runs(config, ["standard", "pgd"], [0, 1], task, progress=False)
    measures = {m: laziness.kernel_measures(r, top_k=2) for m, r in runs.items()}
    linearised, full = laziness.linearisation(config, runs, ["standard", "pgd"], [0, 0.5, 1], task, progress=False)
    verdicts = ev.claims.claim7(**laziness.claim7_inputs(measures, linearised, full, [0, 0.5, 1],
                                                         transient_epochs=0), k=2)
    assert len(verdicts) == 4
    assert all(v.decision != ev.Decision.SUPPORTED for v in verdicts), [(v.key, v.decision) for v in verdicts]
    # Not merely "not supported": every statistic is exactly 0, a tie (robust accuracy at eps 0 is clean accuracy).
    assert all(v.decision == ev.Decision.UNDETERMINED and v.reason.startswith(ev.Reason.TIE) and v.estimate == 0
               for v in verdicts), [(v.key, v.reason) for v in verdicts]

"""The package's PGD against a peer library's: foolbox's JAX PGD on the same fitted kernel predictor.

Run:  python benchmarks/bench_foolbox.py          (MNIST 4 vs 9, n_train 2000, 500 test points)
      python benchmarks/bench_foolbox.py --quick  (small sizes, seconds)

Needs the ``bench`` extra (``pip install -e ".[bench]"``: foolbox 3.3.4 and eagerpy).

One predictor per kernel (the closed-form FC-1 NTK ``kernels.fc_kernel_fn`` and neural-tangents'
stax FC-1 ``kernel_fn``, one shared Gram matrix, t = ∞), attacked three ways with PGD-10 in ℓ∞
(ε = 0.1, step 0.01, no random start, pixels clipped to [0, 1]):

- foolbox ``LinfBasicIterativeAttack`` (PGD without random start) through ``foolbox.JAXModel``,
  given the predictor as two logits ``(−f, f)`` and 0/1 labels: its cross-entropy has the
  gradient sign of the package's ±1 logistic loss, so both take the same steps;
- ``attacks.pgd`` given the predictor as an opaque function (``lambda z: f(z)``): one jitted
  loop, the predictor's own memory-bounded evaluation (what the attack did before it read the
  predictor's structure);
- ``attacks.pgd`` given the predictor itself (the book's use).

Times are medians over interleaved repetitions (the machine may be shared), wall clock and
process CPU time (less sensitive to other processes' load); ratios are foolbox's time over the
package's. The adversarial images are compared pixel by pixel.
"""

import argparse
import os
import platform
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import attacks, data, kernels, predictor

EPS, STEP, STEPS = 0.1, 0.01, 10


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def interleaved(runs: dict, repeats: int) -> dict:
    """Median (wall, cpu) seconds of each zero-argument function, after one warm-up call each."""
    for fn in runs.values():
        jax.block_until_ready(fn())
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            wall, cpu = time.perf_counter(), _cpu()
            jax.block_until_ready(fn())
            times[name].append((time.perf_counter() - wall, _cpu() - cpu))
    return {name: tuple(np.median(np.array(t), axis=0)) for name, t in times.items()}


def main():
    import foolbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repetitions (default 7; 3 quick)")
    args = parser.parse_args()
    n_train, n_test = (300, 100) if args.quick else (2000, 500)
    repeats = args.repeats or (3 if args.quick else 7)
    print(f"# bench_foolbox{' --quick' if args.quick else ''}: jax {jax.__version__}, foolbox "
          f"{foolbox.__version__}, {jax.default_backend()} {jax.devices()[0].device_kind}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.1f}\n")

    task = data.load_task("mnist_embedded", classes=(4, 9), n_train=n_train, n_test=n_test, seed=0)
    x, y = jnp.asarray(task.x_test), jnp.asarray(task.y_test)
    labels = jnp.asarray((task.y_test > 0).astype(np.int32))
    k_train_train = kernels.gram(task.x_train, architecture="fc", depth=1, batch_size=500)
    print(f"## PGD-{STEPS} (ℓ∞, ε = {EPS}, step {STEP}, no random start), MNIST 4 vs 9, n_train = {n_train}, "
          f"{n_test} test points, median of {repeats} interleaved runs\n")
    print("| kernel | attack | wall (s) | CPU (s) | foolbox / this, wall | foolbox / this, CPU "
          "| pixels differing from foolbox's | max abs difference |\n|---|---|---:|---:|---:|---:|---:|---:|")
    ratios = {}
    for name, fast in (("closed form (kernels.fc_kernel_fn)", True), ("stax kernel_fn", False)):
        predict_fn = predictor.fit(kernels.kernel_fn("fc", 1, fast=fast), task.x_train, task.y_train,
                                   k_train_train=k_train_train)

        def two_logits(z, predict_fn=predict_fn):
            score = predict_fn(z)
            return jnp.stack([-score, score], axis=1)

        model = foolbox.JAXModel(two_logits, bounds=(0, 1))
        bim = foolbox.attacks.LinfBasicIterativeAttack(abs_stepsize=STEP, steps=STEPS, random_start=False)
        opaque = lambda z: predict_fn(z)  # noqa: E731  (one object: its compilation is reused)
        runs = {
            "foolbox LinfBasicIterativeAttack": lambda: bim(model, x, labels, epsilons=EPS)[1],
            "attacks.pgd, predictor as an opaque function": lambda: attacks.pgd(
                opaque, x, y, eps=EPS, step_size=STEP, steps=STEPS),
            "attacks.pgd": lambda: attacks.pgd(predict_fn, x, y, eps=EPS, step_size=STEP, steps=STEPS),
        }
        images = {attack: np.asarray(fn()) for attack, fn in runs.items()}
        times = interleaved(runs, repeats)
        reference = images["foolbox LinfBasicIterativeAttack"]
        base_wall, base_cpu = times["foolbox LinfBasicIterativeAttack"]
        for attack, (wall, cpu) in times.items():
            diff = np.abs(images[attack] - reference)
            print(f"| {name} | {attack} | {wall:.3f} | {cpu:.3f} | {base_wall / wall:.2f}× | "
                  f"{base_cpu / cpu:.2f}× | {np.mean(diff > 1e-6):.1e} | {diff.max():.3f} |")
        ratios[name] = (base_wall / times["attacks.pgd"][0], base_cpu / times["attacks.pgd"][1])
    print("\nTarget: attacks.pgd ≥ 1.5× faster than foolbox on both kernels. "
          + "; ".join(f"{name}: {w:.2f}× wall, {c:.2f}× CPU" for name, (w, c) in ratios.items()) + ".")
    print("A pixel differs where a gradient component is near zero and float32 rounding flips its sign; "
          "the step is then ±0.01, or 0.02 between the two.")


if __name__ == "__main__":
    main()

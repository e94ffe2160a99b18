"""Benchmark: training speed (windows per second) of the project's fit loop against a plain
`model.fit` on in-memory arrays, same model, on each Keras backend, on CPU and (where there is
one) GPU.

Each (backend, model) pair runs in its own process, as a pipeline stage does, on the bundled
sample's base period (the first six CSVs, the shipped params' windows). Per pair it prints:

- `loop w/s`: windows per second through `lstm_utils.train.fit` (shuffled batches, a PyDataset
  on JAX and a `tf.data` pipeline on TensorFlow; validation every epoch, early stopping), after
  a first fit that compiles;
- `plain w/s`: `model.fit` on NumPy arrays of the same windows, same validation, same batch;
- `loop/plain`, and the seconds the first fit spent compiling (its time minus its windows at
  the steady rate);
- with PyTorch and a GPU present, a plain `torch.nn.LSTM` (cuDNN) of the same size with the same
  batches, as the hardware's limit for this model.

With `--against COMMIT`, the default model is also timed through that commit's own fit loop on
TensorFlow (its files, unpacked in a temporary folder), alternating with this code's loop on
JAX, process by process, `--pairs` times: the figure that issue 12's speed bar was set against,
measured in the same sitting rather than taken from another day, with the machine's drift
weighing on both alike (on a shared machine the best of two processes moved by a fifth between
runs).

Bars (issue 12): the loop at least 0.9x plain fit on each backend; the default backend at least
5x TensorFlow for the default model on the same machine: the median of the pairs' ratios
against COMMIT's loop. The ratio against this code's TensorFlow loop (whose feed issue 12 also
mended) is printed too.

    .venv/bin/python bench/throughput.py --against ea694ad    # both backends, LSTM(16) and LSTM(64), best of 2
    .venv/bin/python bench/throughput.py --backends jax --batch-sizes 64 1024
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def windows_for(params):
    """The base period's train and validation windows of the bundled sample."""
    from lstm_utils.ingest import ingest
    from lstm_utils.splits import assign_splits
    from lstm_utils.windows import split_windows

    data = ingest(ROOT / "examples" / "sample_data", params.data, params.split.base_batches)
    frame = assign_splits(data, params.split)
    base = range(params.split.base_batches)
    return frame, split_windows(frame, params, "train", base), split_windows(frame, params, "val", base)


def child(backend_name: str, units: int, batch_size: int, epochs: int, tree: Path = ROOT,
          loop_only: bool = False) -> dict:
    """One measurement, in this process (Keras is started on `backend_name` here), of the
    `lstm_utils` in `tree`: this checkout, or an earlier commit's; with `loop_only`, its fit loop
    and no plain fit."""
    sys.path.insert(0, str(tree))
    os.environ["KERAS_BACKEND"] = backend_name
    if tree == ROOT:
        from lstm_utils import backend, portable

        portable.pin()  # as a stage's process starts (LSTM_UTILS_REPRODUCIBLE=native: the machine's own)
        backend.use(backend_name, source="bench/throughput.py")
    import keras

    from lstm_utils import train
    import yaml

    from lstm_utils.config import parse_params
    from lstm_utils.from_scratch import new_forecaster
    from lstm_utils.model import copy_model, scaled_view, target_std

    raw = yaml.safe_load((tree / "params.yaml").read_text(encoding="utf-8"))
    params = parse_params(raw).replace("model", units=(units,))
    if tree == ROOT:
        params = params.replace("train", backend=backend_name)
    frame, tr, va = windows_for(params)
    model = new_forecaster(frame, params)
    kw = dict(batch_size=batch_size, learning_rate=1e-3, patience=epochs + 1, seed=0, verbose=0)

    first = train.fit(copy_model(model), tr, va, epochs=1, **kw)
    steady = train.fit(copy_model(model), tr, va, epochs=epochs, **kw)
    loop_rate = steady.windows_seen / steady.seconds
    if loop_only:
        return {"backend": backend_name, "units": units, "batch": batch_size, "windows": len(tr), "loop": loop_rate}

    inv = 1.0 / target_std(model)
    x, y = tr.arrays()
    xv, yv = va.arrays()
    plain = scaled_view(copy_model(model))
    plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    started = time.perf_counter()
    plain.fit(x, y * inv, batch_size=batch_size, epochs=1, validation_data=(xv, yv * inv), verbose=0)
    plain_first = time.perf_counter() - started
    started = time.perf_counter()
    plain.fit(x, y * inv, batch_size=batch_size, epochs=epochs, validation_data=(xv, yv * inv), verbose=0)
    plain_rate = epochs * len(x) / (time.perf_counter() - started)

    if backend_name == "jax":
        import jax

        device = str(jax.devices()[0].device_kind)
    else:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        device = gpus[0].name if gpus else "cpu"
    row = {"backend": backend_name, "units": units, "batch": batch_size, "device": device, "windows": len(tr),
           "loop": loop_rate, "plain": plain_rate,
           "loop_compile_s": max(0.0, first.seconds - first.windows_seen / loop_rate),
           "plain_compile_s": max(0.0, plain_first - len(x) / plain_rate)}
    row["torch"] = torch_rate(x.shape[1:], y.shape[1:], units, batch_size, epochs)
    return row


def torch_rate(x_shape, y_shape, units: int, batch_size: int, epochs: int) -> float | None:
    """Windows/s of a plain cuDNN LSTM in PyTorch on the GPU, or None without both."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    lookback, n_in = x_shape
    horizon, n_out = y_shape
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(n_in, units, batch_first=True).cuda()
    head = torch.nn.Linear(units, horizon * n_out).cuda()
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], 1e-3)
    n = 20_000
    x = torch.randn(n, lookback, n_in, device="cuda")
    y = torch.randn(n, horizon * n_out, device="cuda")

    def epoch() -> None:
        for i in range(0, n - batch_size + 1, batch_size):
            out, _ = lstm(x[i:i + batch_size])
            loss = torch.nn.functional.mse_loss(head(out[:, -1]), y[i:i + batch_size])
            opt.zero_grad()
            loss.backward()
            opt.step()

    epoch()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(epochs):
        epoch()
    torch.cuda.synchronize()
    return epochs * (n // batch_size) * batch_size / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--units", nargs="+", type=int, default=[16, 64])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per measurement")
    parser.add_argument("--repeat", type=int, default=2, help="processes per measurement; the best of each is kept "
                        "(shared machines: the fastest run is the least disturbed)")
    parser.add_argument("--against", metavar="COMMIT",
                        help="also time COMMIT's own fit loop on TensorFlow, default model (issue 12: ea694ad)")
    parser.add_argument("--pairs", type=int, default=5, help="with --against: alternating pairs of processes")
    parser.add_argument("--modes", nargs="+", default=["portable"], choices=["portable", "native"],
                        help="LSTM_UTILS_REPRODUCIBLE of the measured processes; with both, each measurement "
                             "alternates them and prints portable/native (the cost of the same bytes everywhere)")
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "UNITS", "BATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--child-tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--loop-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        row = child(args.child[0], int(args.child[1]), int(args.child[2]), args.epochs, args.child_tree,
                    args.loop_only)
        print("ROW " + json.dumps(row))
        return 0
    rows = []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for backend_name in args.backends:
        for units in args.units:
            for batch in args.batch_sizes:
                tries: dict[str, list[dict]] = {mode: [] for mode in args.modes}
                for _ in range(args.repeat):
                    for mode in args.modes:  # alternating, so that the machine's drift weighs on both
                        row = in_child(backend_name, units, batch, args.epochs, env | {"LSTM_UTILS_REPRODUCIBLE": mode})
                        if row is not None:
                            tries[mode].append(dict(row, mode=mode))
                best = {}
                for mode, found in tries.items():
                    if len(found) < args.repeat:
                        continue
                    r = best[mode] = dict(found[0])
                    for k in ("loop", "plain", "torch"):
                        values = [t[k] for t in found if t[k] is not None]
                        r[k] = max(values) if values else None
                    rows.append(r)
                    report(r, len(args.modes) > 1)
                if len(best) == 2:
                    print(f"{'':<11} portable/native: loop {best['portable']['loop'] / best['native']['loop']:.2f}, "
                          f"plain fit {best['portable']['plain'] / best['native']['plain']:.2f}", flush=True)
    print(f"\n{rows[0]['windows'] if rows else 0} training windows per epoch; {args.epochs} timed epochs each; "
          f"best of {args.repeat} processes")
    ok = True
    for r in rows:
        passed = r["loop"] >= 0.9 * r["plain"]
        ok &= passed
        print(f"bar: loop >= 0.9x plain fit, {r['backend']} LSTM({r['units']}) batch {r['batch']}: "
              f"{r['loop'] / r['plain']:.2f} {'PASS' if passed else 'FAIL'}")
    default = {(r["backend"], r["batch"]): r["loop"] for r in rows if r["units"] == 16}
    if ("jax", 64) in default and ("tensorflow", 64) in default:
        ratio = default["jax", 64] / default["tensorflow", 64]
        print(f"default backend (jax) against this code's tensorflow loop, default model: {ratio:.1f}x")
    if args.against:
        print(f"\nthe default model through {args.against}'s own loop on tensorflow and this code's on jax, "
              f"{args.pairs} alternating pairs of processes:")
        pairs = against(args.against, args.pairs, args.epochs, env)
        if pairs:
            ratio = statistics.median(new / old for old, new in pairs)
            ok &= ratio >= 5
            print(f"bar: default backend (jax) >= 5x {args.against}'s tensorflow loop, default model: median "
                  f"{ratio:.1f}x {'PASS' if ratio >= 5 else 'FAIL'}")
        else:
            ok = False
    return 0 if ok else 1


def report(r: dict, with_mode: bool) -> None:
    """One measurement's line."""
    print(f"{r['backend']:<11} LSTM({r['units']:>3}) batch {r['batch']:>5} on {r['device']:<14}"
          + (f" {r['mode']:<8}" if with_mode else "")
          + f" loop {r['loop']:>9,.0f} w/s  plain fit {r['plain']:>9,.0f} w/s  loop/plain "
          f"{r['loop'] / r['plain']:.2f}  compile {r['loop_compile_s']:.1f} s / {r['plain_compile_s']:.1f} s"
          + (f"  torch cuDNN {r['torch']:,.0f} w/s" if r["torch"] else ""), flush=True)


def in_child(backend_name: str, units: int, batch: int, epochs: int, env: dict, tree: Path = ROOT,
             loop_only: bool = False) -> dict | None:
    """:func:`child` in a fresh process, as a pipeline stage runs; None (and its error printed) if it fails."""
    cmd = [sys.executable, __file__, "--epochs", str(epochs), "--child-tree", str(tree),
           "--child", backend_name, str(units), str(batch)] + (["--loop-only"] if loop_only else [])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("ROW ")]
    if done.returncode or not lines:
        print(f"{tree} on {backend_name}, LSTM({units}) batch {batch}: failed\n{done.stderr[-3000:]}")
        return None
    return json.loads(lines[-1][4:])


def against(commit: str, pairs: int, epochs: int, env: dict) -> list[tuple[float, float]]:
    """`pairs` side-by-side measurements of the default model, batch 64, each a process of
    COMMIT's own fit loop on TensorFlow (its files unpacked in a temporary folder) then one of
    this code's loop on JAX, alternating, so that the machine's drift weighs on both alike;
    returns (COMMIT's w/s, JAX's w/s) per pair, or nothing if one fails."""
    def loop(tree: Path, backend_name: str) -> float | None:
        row = in_child(backend_name, 16, 64, epochs, env, tree, loop_only=True)
        return None if row is None else row["loop"]

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        for k in range(pairs):
            old, new = loop(Path(tmp), "tensorflow"), loop(ROOT, "jax")
            if old is None or new is None:
                return []
            out.append((old, new))
            print(f"pair {k + 1}: {commit}'s tensorflow loop {old:>7,.0f} w/s, this code's jax loop {new:>7,.0f} w/s: "
                  f"{new / old:.1f}x", flush=True)
    return out


if __name__ == "__main__":
    raise SystemExit(main())

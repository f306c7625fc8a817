"""Reads a dnc-dist run directory with h5py, as a user would, checks the documented layout,
and prints what it found as JSON for the Swift test to compare with what the trainer reported.

Usage: python3 check_run_files.py RUN_DIR
"""
import glob
import json
import os
import sys

import h5py
import numpy as np


def main(run):
    out = {}
    checkpoints = sorted(glob.glob(os.path.join(run, "checkpoints", "checkpoint-*.h5")))
    assert checkpoints, "no checkpoint"
    with h5py.File(checkpoints[-1], "r") as f:
        assert f.attrs["format"] == "dnc-swift checkpoint", f.attrs["format"]
        assert int(f.attrs["format_version"]) == 1
        names = [n if isinstance(n, str) else n.decode() for n in f["params"].attrs["names"]]
        total = 0
        for name in names:
            d = f["params"][name]
            assert d.dtype == np.float32, (name, d.dtype)
            assert int(d.attrs["offset"]) == total, (name, d.attrs["offset"], total)
            assert np.all(np.isfinite(d[()])), name
            total += d.size
        assert int(f["params"].attrs["element_count"]) == total
        for key, buffer in f["optimizer"].items():
            assert buffer.shape == (total,), (key, buffer.shape)
        out["checkpoint_step"] = int(f["state"].attrs["step"])
        out["parameter_count"] = total
        out["optimizer"] = str(f["optimizer"].attrs["algorithm"])
        out["first_parameter"] = names[0]
        out["first_parameter_sum"] = float(np.sum(f["params"][names[0]][()], dtype=np.float64))
    debug_files = sorted(glob.glob(os.path.join(run, "debug-rank*.h5")))
    out["debug_files"] = len(debug_files)
    for other in debug_files[1:]:
        with h5py.File(other, "r") as f:
            assert any(k.startswith("step_") for k in f.keys()), other
    debug = os.path.join(run, "debug-rank0.h5")
    if os.path.exists(debug):
        with h5py.File(debug, "r") as f:
            steps = sorted(k for k in f.keys() if k.startswith("step_"))
            out["debug_steps"] = [int(s[5:]) for s in steps]
            layer = f[steps[0]]["layer_0"]
            out["debug_keys"] = sorted(layer.keys())
            memory = layer["memory"]
            axes = memory.attrs["axes"]
            axes = axes if isinstance(axes, str) else ",".join(a if isinstance(a, str) else a.decode() for a in axes)
            out["memory_axes"] = axes
            out["memory_shape"] = list(memory.shape)
            if "link_matrix" in layer:
                link = layer["link_matrix"][()]
                assert np.all(np.diagonal(link, axis1=1, axis2=2) == 0), "link diagonal"
    with h5py.File(os.path.join(run, "eval.h5"), "r") as f:
        out["eval_lengths"] = [int(v) for v in f["length"][()]]
        assert np.all(np.isfinite(f["loss"][()]))
        out["eval_metrics"] = sorted(f["metrics"].keys())
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""The pytorch-dnc side of TorchBridgeTests (Tests/CommandLineTests/TorchBridgeTests.swift).
Needs torch, h5py and pytorch-dnc (PyPI `dnc`); `--bridge` is scripts/torch-bridge.py, whose
`initial_controller_state` gives pytorch-dnc the controller state dnc-dist predict starts from.

    make  --constructor JSON --torch-seed S --state-dict OUT.pt --inputs OUT.h5 --batch B --steps T [--extra-parameter NAME]
          [--bridge PATH --seed S --outputs OUT.h5]
          a freshly initialised pytorch-dnc DNC (torch.manual_seed(S)) and random inputs in [-1, 1],
          and its outputs as `run` computes them
    run   --bridge PATH --constructor JSON|--args FILE [--seed S] --state-dict IN.pt --inputs IN.h5 --outputs OUT.h5
          the model's outputs (batch, time, width) from predict's initial controller state
    same  A.pt B.pt [--bridge PATH --args FILE --inputs IN.h5 --outputs OUT.h5]
          exit 1 unless both state dicts hold the same names in the same order, dtypes and bits;
          then `run` on B
(Subcommands do several things because each Python start imports torch, seconds on a busy machine.)
"""

import argparse
import importlib.util
import json
import sys

import h5py
import numpy as np
import torch
from dnc import DNC


def load_bridge(path):
    spec = importlib.util.spec_from_file_location("torch_bridge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make(arguments):
    constructor = json.loads(arguments.constructor)
    torch.manual_seed(arguments.torch_seed)
    model = DNC(**constructor)
    state = model.state_dict()
    if arguments.extra_parameter:
        state[arguments.extra_parameter] = torch.zeros(3)
    torch.save(state, arguments.state_dict)
    generator = np.random.default_rng(arguments.torch_seed)
    inputs = generator.uniform(-1, 1, size=(arguments.batch, arguments.steps, constructor["input_size"]))
    with h5py.File(arguments.inputs, "w") as f:
        f["inputs"] = inputs.astype(np.float32)
    if arguments.outputs:
        write_outputs(load_bridge(arguments.bridge), model, arguments.seed, arguments.inputs, arguments.outputs)


def run(arguments):
    if arguments.args:
        with open(arguments.args) as f:
            record = json.load(f)
        constructor, seed = record["constructor"], record["seed"]
    else:
        constructor, seed = json.loads(arguments.constructor), None
    if arguments.seed is not None:
        seed = arguments.seed
    model = DNC(**constructor)
    model.load_state_dict(torch.load(arguments.state_dict, weights_only=True), strict=True)
    write_outputs(load_bridge(arguments.bridge), model, seed, arguments.inputs, arguments.outputs)


def write_outputs(bridge, model, seed, inputs_file, outputs_file):
    """The model's outputs, in evaluation mode, from the controller state dnc-dist predict starts from."""
    model.eval()
    with h5py.File(inputs_file, "r") as f:
        inputs = torch.from_numpy(np.asarray(f["inputs"][...], dtype=np.float32))
    batch = inputs.shape[0]
    h = torch.from_numpy(bridge.initial_controller_state(seed, batch, model.hidden_size, model.num_hidden_layers))
    # pytorch-dnc uses one tensor as h0 and c0 of every DNC layer when it draws the state itself.
    chx = [(h, h) if model.rnn_type.lower() == "lstm" else h for _ in range(model.num_layers)]
    with torch.no_grad():
        outputs, _ = model(inputs, (chx, None, None))
    if tuple(outputs.shape) != tuple(inputs.shape):
        # pytorch-dnc 2.0 returns time-major outputs for batch-first inputs (docs/pytorch-dnc.md).
        outputs = outputs.transpose(0, 1)
    with h5py.File(outputs_file, "w") as f:
        f["outputs"] = outputs.numpy().astype(np.float32)


def same(arguments):
    """Exit 1 unless the state dicts are identical; then, with --args, `run` on the second."""
    a = torch.load(arguments.first, weights_only=True)
    b = torch.load(arguments.second, weights_only=True)
    if list(a) != list(b):
        print(f"names differ: {list(a)} vs {list(b)}")
        return 1
    for name in a:
        if a[name].dtype != b[name].dtype or a[name].shape != b[name].shape:
            print(f"{name}: {a[name].dtype} {tuple(a[name].shape)} vs {b[name].dtype} {tuple(b[name].shape)}")
            return 1
        if not torch.equal(a[name].view(-1).view(torch.int32 if a[name].dtype == torch.float32 else torch.int64),
                           b[name].view(-1).view(torch.int32 if b[name].dtype == torch.float32 else torch.int64)):
            print(f"{name}: values differ")
            return 1
    print(f"{len(a)} tensors identical")
    if arguments.args:
        arguments.state_dict, arguments.constructor, arguments.seed = arguments.second, None, None
        run(arguments)
    return 0


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("make")
    p.add_argument("--constructor", required=True)
    p.add_argument("--torch-seed", type=int, required=True)
    p.add_argument("--state-dict", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--batch", type=int, default=3)
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--extra-parameter", help="also store a tensor of this name, which no DNC has")
    p.add_argument("--bridge", help="with --outputs: scripts/torch-bridge.py")
    p.add_argument("--seed", type=int, help="with --outputs: the dnc-dist seed of the initial controller state")
    p.add_argument("--outputs", help="also write the model's outputs for the inputs, as `run` does")
    p = commands.add_parser("run")
    p.add_argument("--bridge", required=True)
    p.add_argument("--constructor")
    p.add_argument("--args")
    p.add_argument("--seed", type=int)
    p.add_argument("--state-dict", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--outputs", required=True)
    p = commands.add_parser("same")
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--bridge")
    p.add_argument("--args", help="also run the second with these arguments, as `run` does")
    p.add_argument("--inputs")
    p.add_argument("--outputs")
    arguments = parser.parse_args()
    if arguments.command == "make":
        return make(arguments) or 0
    if arguments.command == "run":
        return run(arguments) or 0
    return same(arguments)


if __name__ == "__main__":
    sys.exit(main())

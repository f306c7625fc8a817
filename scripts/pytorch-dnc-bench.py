#!/usr/bin/env python3
"""Times pytorch-dnc's training step on the copy task, one CPU thread: the PyTorch side of
`dnc-bench --pytorch PYTHON` (issue #16: "side by side with pytorch-dnc in one run, one thread").

One configuration per run, given on the command line (dnc-bench passes those of its
DNCBenchConfiguration table, so the dimensions live in one place). The step is the one dnc-bench
times for our DNC (`trainingStep` in Sources/DNCBenchCommand/DNCTrainingBench.swift): on one fixed
copy-task batch, from a fresh state, forward, BCE with logits averaged over all elements,
backward, global-norm clipping at 50 and an Adam step (lr 1e-4, betas 0.9/0.98, eps 1e-9: the
optimiser dnc-dist's "adam" seeds, pytorch-dnc's copy task's). One warm-up step, then --repeats
timed steps. Prints one JSON line: name, median_ms, min_ms, max_ms, repeats, torch_version,
dnc_version, threads (and the configuration).

Needs torch and pytorch-dnc (PyPI `dnc` 1.1.0); scripts/test.sh makes such a Python at
.build/torch-venv. Bad arguments, or a Python without them: one line on stderr, exit status 2.
"""
import argparse
import json
import os
import statistics
import sys
import time

# One thread in every library torch may use. They read these when they load, so before `import torch`.
for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[variable] = "1"

INPUT_WIDTH = 6  # the copy task's X: five data bits and the end marker, as dnc-bench's configurations


class OneLineErrors(argparse.ArgumentParser):
    """argparse's errors (a bad integer, a missing flag) as one line and exit status 2, like dnc-bench's."""

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def parse_arguments():
    parser = OneLineErrors(
        description="Time pytorch-dnc's copy-task training step (forward, BCE, backward, clipping, Adam), one thread.")
    parser.add_argument("--name", required=True, help="configuration name, echoed in the result (e.g. dnc-small)")
    parser.add_argument("--hidden", type=int, required=True, help="controller hidden size (pytorch-dnc hidden_size)")
    parser.add_argument("--controller-depth", type=int, required=True,
                        help="LSTM layers in the controller (pytorch-dnc num_hidden_layers)")
    parser.add_argument("--cells", type=int, required=True, help="memory cells N (nr_cells)")
    parser.add_argument("--width", type=int, required=True, help="memory cell width W (cell_size)")
    parser.add_argument("--read-heads", type=int, required=True, help="read heads R (read_heads)")
    parser.add_argument("--batch", type=int, required=True, help="sequences per batch")
    parser.add_argument("--copy-length", type=int, required=True, help="copy length L; a sequence has 2L+1 steps")
    parser.add_argument("--repeats", type=int, required=True, help="timed steps after one warm-up step (the median is reported)")
    arguments = parser.parse_args()
    # argparse checks the types; the values must also be positive. One line, exit 2, before any work.
    for flag in ("hidden", "controller_depth", "cells", "width", "read_heads", "batch", "copy_length", "repeats"):
        value = getattr(arguments, flag)
        if value < 1:
            print(f"error: --{flag.replace('_', '-')} must be a positive integer, got {value}", file=sys.stderr)
            sys.exit(2)
    return arguments


def copy_batch(torch, batch, length):
    """A copy-task batch shaped as dnc-bench's (CopyTask, batch-first): steps 0..L-1 hold random bits
    in the data channels, step L only the end marker (last channel), steps L+1..2L are silent; the
    targets hold the bits at steps L+1..2L. The bits themselves are torch's (the step's time does
    not depend on them)."""
    generator = torch.Generator().manual_seed(1)
    steps = 2 * length + 1
    bits = torch.randint(0, 2, (batch, length, INPUT_WIDTH - 1), generator=generator).float()
    inputs = torch.zeros(batch, steps, INPUT_WIDTH)
    targets = torch.zeros(batch, steps, INPUT_WIDTH)
    inputs[:, :length, :INPUT_WIDTH - 1] = bits
    inputs[:, length, INPUT_WIDTH - 1] = 1
    targets[:, length + 1:, :INPUT_WIDTH - 1] = bits
    return inputs, targets


def main():
    arguments = parse_arguments()
    try:
        import torch
        from importlib.metadata import version
        from dnc import DNC
        dnc_version = version("dnc")
    except ImportError as error:
        print(f"error: {sys.executable} cannot import torch and pytorch-dnc (PyPI dnc 1.1.0): {error}", file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)

    model = DNC(input_size=INPUT_WIDTH, hidden_size=arguments.hidden, rnn_type="lstm", num_layers=1,
                num_hidden_layers=arguments.controller_depth, nr_cells=arguments.cells, cell_size=arguments.width,
                read_heads=arguments.read_heads, batch_first=True, gpu_id=-1)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    inputs, targets = copy_batch(torch, arguments.batch, arguments.copy_length)

    def training_step():
        optimiser.zero_grad()
        # (None, None, None) and reset_experience: every step starts from a fresh controller state,
        # memory and read vectors, as dnc-bench's steps do.
        output, _ = model(inputs, (None, None, None), reset_experience=True, pass_through_memory=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50)
        optimiser.step()

    training_step()  # warm-up: first-call allocations and lazy initialisation
    times = []
    for _ in range(arguments.repeats):
        start = time.perf_counter()
        training_step()
        times.append((time.perf_counter() - start) * 1e3)

    print(json.dumps({
        "name": arguments.name, "median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
        "repeats": arguments.repeats, "torch_version": torch.__version__, "dnc_version": dnc_version,
        "threads": torch.get_num_threads(),
        "hidden": arguments.hidden, "controller_layers": arguments.controller_depth, "cells": arguments.cells,
        "cell_width": arguments.width, "read_heads": arguments.read_heads, "batch": arguments.batch,
        "steps": 2 * arguments.copy_length + 1,
    }, sort_keys=True))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Moves a dense DNC between pytorch-dnc (PyTorch) and dnc-dist (this repository).

    torch-bridge.py to-checkpoint --state-dict MODEL.pt --out MODEL.h5 -mem_slot N [model flags]
    torch-bridge.py to-state-dict --checkpoint MODEL.h5 --out MODEL.pt [--args-out ARGS.json]

to-checkpoint turns the state dict of a trained pytorch-dnc `DNC` into a checkpoint in the layout
`dnc-dist train` writes (Sources/Training/Checkpoints/CheckpointFile.swift), with the
`--preset pytorch` training configuration, so that `dnc-dist eval`, `dnc-dist predict` and
`DNC.load(checkpoint:)` read it. The model flags are those of `dnc-dist train` (-input_size,
-nhid, -nlayer, -nhlayer, -mem_slot, -mem_size, -read_heads, -rnn_type, ...), with its defaults;
every parameter's shape is checked against them. -mem_slot is required: no parameter depends on
the number of memory cells, so the state dict cannot tell it.

to-state-dict does the reverse for a checkpoint of `dnc-dist train --preset pytorch` (tasks
copy, adding, argmax: pytorch-dnc's output width is its input width) or of `DNC.save(to:)` with
the `pytorchCompat` preset, prints the `DNC(...)` call that builds the matching model and, with
--args-out, stores its arguments as JSON.

Supported: the dense DNC with an LSTM, GRU or plain RNN controller, any number of DNC layers
(num_layers, -nlayer) and recurrent layers per controller (num_hidden_layers, -nhlayer), shared
or per-layer memories, one interface layer or independent linears. Not supported (refused):
SAM and SDNC (pytorch-dnc's sparse memories differ from ours, docs/pytorch-dnc.md), models
trained with the paper preset (they compute something else than pytorch-dnc), controllers
without biases in to-checkpoint (dnc-dist train always has them).

Parameter names and layouts are the same on both sides (docs/pytorch-dnc.md, "Parameter names"),
so the bridge copies tensors one to one after checking the set of names and every shape.

With the pytorch preset and no state given, both libraries start each call from a random
controller state (docs/pytorch-dnc.md, "Random initial controller state"). `dnc-dist predict`
draws it from the run's seed; `initial_controller_state` below computes the same draw, so
pytorch-dnc can be given it explicitly and reproduce predict's outputs.

Bad input (missing file, unknown or missing parameter, shape not matching the flags, a setting
that cannot be moved) gives one line naming the item and what was expected, and exit status 2.
"""

import argparse
import json
import math
import os
import re
import struct
import sys
import tempfile
from collections import OrderedDict

PROGRAM = "torch-bridge"

# The checkpoint format this bridge writes and reads (Checkpoint.formatName, .formatVersion).
FORMAT_NAME = "dnc-swift checkpoint"
FORMAT_VERSION = 1
CHECKSUM_ATTRIBUTE = "attributes_checksum"
RESERVED_ATTRIBUTES = {"format", "format_version", CHECKSUM_ATTRIBUTE}

# Tasks whose output width is the input width, as pytorch-dnc's output layer always is.
SAME_WIDTH_TASKS = ["copy", "adding", "argmax"]

GATE_BLOCKS = {"lstm": 4, "gru": 3, "rnn": 1}

# pytorch-dnc's independent interface linears in its order, with their widths as functions of (W, R).
INDEPENDENT_LINEARS = [
    ("read_keys_transform", lambda w, r: w * r),
    ("read_strengths_transform", lambda w, r: r),
    ("write_key_transform", lambda w, r: w),
    ("write_strength_transform", lambda w, r: 1),
    ("erase_vector_transform", lambda w, r: w),
    ("write_vector_transform", lambda w, r: w),
    ("free_gates_transform", lambda w, r: r),
    ("allocation_gate_transform", lambda w, r: 1),
    ("write_gate_transform", lambda w, r: 1),
    ("read_modes_transform", lambda w, r: 3 * r),
]


class BridgeError(Exception):
    """One line for the user; the program exits with status 2."""


# MARK: The model's settings and parameter shapes


class DenseModel:
    """The settings that decide a dense DNC's parameters and outputs, in dnc-dist's flag names."""

    def __init__(self, input_size, nhid, nlayer, nhlayer, mem_slot, mem_size, read_heads, rnn_type="lstm",
                 nonlinearity="tanh", dropout=0.0, independent_linears=False, share_memory=True,
                 controller_clip=20.0, bias=True):
        self.input_size = input_size
        self.nhid = nhid
        self.nlayer = nlayer
        self.nhlayer = nhlayer
        self.mem_slot = mem_slot
        self.mem_size = mem_size
        self.read_heads = read_heads
        self.rnn_type = rnn_type
        self.nonlinearity = nonlinearity
        self.dropout = dropout
        self.independent_linears = independent_linears
        self.share_memory = share_memory
        self.controller_clip = controller_clip
        self.bias = bias

    def flag_summary(self):
        return (f"-input_size {self.input_size} -nhid {self.nhid} -nlayer {self.nlayer} -nhlayer {self.nhlayer} "
                f"-mem_size {self.mem_size} -read_heads {self.read_heads} -rnn_type {self.rnn_type} "
                f"-independent_linears {str(self.independent_linears).lower()} "
                f"-share_memory {str(self.share_memory).lower()}")

    def expected_shapes(self):
        """Every parameter name of pytorch-dnc's `DNC.state_dict()`, in its order, with its shape."""
        x, h, w, r = self.input_size, self.nhid, self.mem_size, self.read_heads
        gates = GATE_BLOCKS[self.rnn_type] * h
        shapes = OrderedDict()

        def memory(prefix):
            if self.independent_linears:
                for name, width in INDEPENDENT_LINEARS:
                    shapes[f"{prefix}{name}.weight"] = (width(w, r), h)
                    shapes[f"{prefix}{name}.bias"] = (width(w, r),)
            else:
                size = w * r + 3 * w + 5 * r + 3
                shapes[f"{prefix}interface_weights.weight"] = (size, h)
                shapes[f"{prefix}interface_weights.bias"] = (size,)

        for layer in range(self.nlayer):
            prefix = f"{self.rnn_type}_layer_{layer}."
            for k in range(self.nhlayer):
                fan_in = ((x if layer == 0 else h) + r * w) if k == 0 else h
                shapes[f"{prefix}weight_ih_l{k}"] = (gates, fan_in)
                shapes[f"{prefix}weight_hh_l{k}"] = (gates, h)
                if self.bias:
                    shapes[f"{prefix}bias_ih_l{k}"] = (gates,)
                    shapes[f"{prefix}bias_hh_l{k}"] = (gates,)
            if not self.share_memory:
                memory(f"rnn_layer_memory_{layer}.")
        if self.share_memory:
            memory("rnn_layer_memory_shared.")
        shapes["output.weight"] = (x, h + r * w)
        shapes["output.bias"] = (x,)
        return shapes

    def constructor_arguments(self, share_memory_name="share_memory"):
        """The keyword arguments of pytorch-dnc's `DNC(...)` that build this model (batch-first)."""
        return OrderedDict([
            ("input_size", self.input_size), ("hidden_size", self.nhid), ("rnn_type", self.rnn_type),
            ("num_layers", self.nlayer), ("num_hidden_layers", self.nhlayer), ("bias", self.bias),
            ("batch_first", True), ("dropout", self.dropout), ("nr_cells", self.mem_slot),
            ("read_heads", self.read_heads), ("cell_size", self.mem_size), ("nonlinearity", self.nonlinearity),
            ("independent_linears", self.independent_linears), (share_memory_name, self.share_memory),
            ("clip", self.controller_clip),
        ])


def check_parameters(tensors, model, source):
    """Raises for a missing or unknown name or a shape that is not the model's; `tensors` maps
    names to objects with `.shape`. Returns the names in pytorch-dnc's order."""
    expected = model.expected_shapes()
    for name in tensors:
        if name not in expected:
            hint = ""
            if any(part in name for part in ("read_query_transform", "interpolation_gate_transform")):
                hint = " (a SAM/SDNC parameter: only the dense DNC is supported)"
            elif name.startswith(("lstm_layer_", "gru_layer_", "rnn_layer_")) and not name.startswith("rnn_layer_memory"):
                hint = f" (the flags give -rnn_type {model.rnn_type}, -nlayer {model.nlayer}, -nhlayer {model.nhlayer})"
            elif "rnn_layer_memory" in name:
                hint = (f" (the flags give -share_memory {str(model.share_memory).lower()}, "
                        f"-independent_linears {str(model.independent_linears).lower()})")
            raise BridgeError(f"{source}: unknown parameter '{name}'{hint}; expected one of the {len(expected)} "
                              f"names of a DNC with {model.flag_summary()}")
    for name, shape in expected.items():
        if name not in tensors:
            hint = " (pytorch-dnc's bias=False is not supported: dnc-dist's controllers have biases)" if ".bias_" in name else ""
            raise BridgeError(f"{source}: missing parameter '{name}' of shape {format_shape(shape)}{hint}, "
                              f"which a DNC with {model.flag_summary()} has")
        found = tuple(int(n) for n in tensors[name].shape)
        if found != shape:
            raise BridgeError(f"{source}: parameter '{name}' has shape {format_shape(found)}, expected "
                              f"{format_shape(shape)} for a DNC with {model.flag_summary()}")
    return list(expected)


def format_shape(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


# MARK: The checkpoint's attribute checksum


def attributes_checksum(configuration, step, counters, scalars, parameter_names, optimiser=None):
    """`Checkpoint.attributesChecksum` (Sources/Training/Checkpoints/Checkpoint.swift): FNV-1a,
    64 bit, over the configuration (sorted names; each value tagged s/i/d/b), the step, the
    counters and scalars (sorted), the optimiser (algorithm, step, sorted buffer names; None when
    absent) and the parameter names in order. Numbers are 8 bytes little-endian, texts their
    UTF-8 length then bytes. `configuration` maps names to str, int, float or bool (bool tested
    first: Python's bool is an int)."""
    mask = (1 << 64) - 1
    state = [0xCBF29CE484222325]

    def feed(data):
        h = state[0]
        for byte in data:
            h = ((h ^ byte) * 0x100000001B3) & mask
        state[0] = h

    def number(value):
        feed(struct.pack("<Q", value & mask))

    def text(value):
        data = value.encode("utf-8")
        number(len(data))
        feed(data)

    def double_bits(value):
        return struct.unpack("<Q", struct.pack("<d", value))[0]

    text("configuration")
    for name in sorted(configuration):
        value = configuration[name]
        text(name)
        if isinstance(value, bool):
            text("b")
            number(1 if value else 0)
        elif isinstance(value, str):
            text("s")
            text(value)
        elif isinstance(value, int):
            text("i")
            number(value)
        elif isinstance(value, float):
            text("d")
            number(double_bits(value))
        else:
            raise TypeError(f"configuration value {name!r} has type {type(value).__name__}")
    text("state")
    number(step)
    for name in sorted(counters):
        text(name)
        number(counters[name])
    text("scalars")
    for name in sorted(scalars):
        text(name)
        number(double_bits(scalars[name]))
    text("optimizer")
    if optimiser is not None:
        algorithm, optimiser_step, buffer_names = optimiser
        text(algorithm)
        number(optimiser_step)
        for name in sorted(buffer_names):
            text(name)
    text("params")
    for name in parameter_names:
        text(name)
    return state[0]


def signed64(value):
    """A UInt64 as the Int64 with the same bits (how the checksum is stored)."""
    return value - (1 << 64) if value >= (1 << 63) else value


# MARK: The initial controller state of the pytorch preset


def _philox4x32_10(counter, key):
    """`CounterRandom.philox` (Sources/Numerics/CounterRandom.swift)."""
    m32 = 0xFFFFFFFF
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_index in range(10):
        if round_index > 0:
            k0 = (k0 + 0x9E3779B9) & m32
            k1 = (k1 + 0xBB67AE85) & m32
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & m32, p1 & m32, ((p0 >> 32) ^ c3 ^ k1) & m32, p0 & m32
    return c0, c1, c2, c3


def counter_uniform(seed, stream, index):
    """`CounterRandom(seed:).uniform(stream:index:)`: uniform in [0, 1) with 53 random bits."""
    m32 = 0xFFFFFFFF
    block = index >> 1
    b = _philox4x32_10((block & m32, (block >> 32) & m32, stream & m32, (stream >> 32) & m32),
                       (seed & m32, (seed >> 32) & m32))
    bits = (b[0] << 32 | b[1]) if index & 1 == 0 else (b[2] << 32 | b[3])
    return (bits >> 11) * 2.0 ** -53


def initial_controller_state(seed, batch, hidden_size, num_hidden_layers, draw=0):
    """The (num_hidden_layers, batch, hidden_size) float32 array that a dnc-dist model built with
    `seed` starts its `draw`-th call from under the pytorch preset (`DNC.freshState`,
    Sources/Models/DNC.swift): pytorch-dnc's Xavier-uniform bound sqrt(6 / (B·H + L·H)), one draw
    used as h0 and c0 of every DNC layer. `dnc-dist predict` makes one call: draw 0."""
    import numpy as np
    bound = math.sqrt(6 / float(batch * hidden_size + num_hidden_layers * hidden_size))
    count = num_hidden_layers * batch * hidden_size
    values = [-bound + 2 * bound * counter_uniform(seed, 0x400 + draw, i) for i in range(count)]
    return np.array(values, dtype=np.float64).astype(np.float32).reshape(num_hidden_layers, batch, hidden_size)


# MARK: Command line


class OneLineParser(argparse.ArgumentParser):
    """argparse, with every usage error as one line and exit status 2."""

    def error(self, message):
        raise BridgeError(message)


def int_at_least(flag, minimum, accepted):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} '{text}' is not an integer (accepted: {accepted})")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag} {value} is not accepted (accepted: {accepted})")
        return value
    return parse


def positive_int(flag):
    return int_at_least(flag, 1, "at least 1")


def non_negative_int(flag):
    return int_at_least(flag, 0, "0 or more")


def number_in(flag, low, high, accepted):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} '{text}' is not a number (accepted: {accepted})")
        if not (math.isfinite(value) and low <= value < high):
            raise argparse.ArgumentTypeError(f"{flag} {text} is not accepted (accepted: {accepted})")
        return value
    return parse


def boolean(flag):
    def parse(text):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise argparse.ArgumentTypeError(f"{flag} '{text}' is not accepted (accepted: true or false)")
    return parse


def add_model_flags(parser):
    """dnc-dist train's model flags (single or double dash), with its defaults."""
    def flag(name, **options):
        parser.add_argument(f"-{name}", f"--{name}", dest=name, **options)

    flag("task", default="copy", choices=SAME_WIDTH_TASKS,
         help="the dnc-dist task recorded (eval uses it); its output width must be the input width (default copy)")
    flag("input_size", type=positive_int("-input_size"), default=6, help="input width X (default 6)")
    flag("memory_type", default="dnc", help="dnc only (SAM and SDNC are not supported)")
    flag("rnn_type", default="lstm", choices=list(GATE_BLOCKS), help="controller cell (default lstm)")
    flag("nonlinearity", default="tanh", choices=["tanh", "relu"], help="rnn_type rnn: its activation (default tanh)")
    flag("nhid", type=positive_int("-nhid"), default=64, help="controller hidden size (default 64)")
    flag("nlayer", type=positive_int("-nlayer"), default=1, help="DNC layers, pytorch-dnc's num_layers (default 1)")
    flag("nhlayer", type=positive_int("-nhlayer"), default=2,
         help="recurrent layers per controller, pytorch-dnc's num_hidden_layers (default 2)")
    flag("dropout", type=number_in("-dropout", 0, 1, "in [0, 1)"), default=0.0, help="dropout (default 0)")
    flag("mem_slot", type=positive_int("-mem_slot"), default=None,
         help="memory cells N, pytorch-dnc's nr_cells (required: no parameter depends on it)")
    flag("mem_size", type=positive_int("-mem_size"), default=20, help="cell width W, pytorch-dnc's cell_size (default 20)")
    flag("read_heads", type=positive_int("-read_heads"), default=4, help="read heads R (default 4)")
    flag("independent_linears", type=boolean("-independent_linears"), default=False, help="true or false (default false)")
    flag("share_memory", type=boolean("-share_memory"), default=True, help="true or false (default true)")
    flag("controller_clip", type=number_in("-controller_clip", 0, math.inf, "a finite number ≥ 0"), default=20.0,
         help="controller output clamp, pytorch-dnc's clip (default 20)")
    flag("preset", default="pytorch", help="pytorch only: the preset that computes what pytorch-dnc computes")
    flag("seed", type=non_negative_int("-seed"), default=1,
         help="the run's seed (predict draws the initial controller state from it; default 1)")
    flag("sequence_max_length", type=positive_int("-sequence_max_length"), default=None,
         help="recorded for dnc-dist eval's default lengths (default: the task's)")
    flag("batch_size", type=positive_int("-batch_size"), default=None, help="recorded for dnc-dist eval (default: the task's)")


def parse_arguments(argv):
    parser = OneLineParser(prog=PROGRAM, description=__doc__.split("\n\n")[0], allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", metavar="{to-checkpoint,to-state-dict}", parser_class=OneLineParser)
    forward = commands.add_parser("to-checkpoint", allow_abbrev=False,
                                  help="a pytorch-dnc DNC state dict to a dnc-dist checkpoint")
    forward.add_argument("--state-dict", "--state_dict", dest="state_dict", required=True,
                         help="torch.save'd state dict of a pytorch-dnc DNC")
    forward.add_argument("--out", required=True, help="the checkpoint file to create (.h5; must not exist)")
    add_model_flags(forward)
    backward = commands.add_parser("to-state-dict", allow_abbrev=False,
                                   help="a dnc-dist checkpoint to a pytorch-dnc DNC state dict")
    backward.add_argument("--checkpoint", required=True, help="a checkpoint of dnc-dist train or DNC.save(to:)")
    backward.add_argument("--out", required=True, help="the state dict file to create (.pt; must not exist)")
    backward.add_argument("--args-out", "--args_out", dest="args_out",
                          help="also write the DNC(...) arguments and the run's seed as JSON here (must not exist)")
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        raise BridgeError("no command: expected to-checkpoint or to-state-dict")
    return arguments


def require_new_file(path, flag):
    if os.path.lexists(path):
        raise BridgeError(f"{flag} '{path}' exists: the bridge creates a new file, remove it or choose another name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise BridgeError(f"{flag} '{path}': folder '{directory}' does not exist")


def require_file(path, flag):
    if not os.path.isfile(path):
        raise BridgeError(f"{flag} '{path}': no such file")


def import_libraries(*names):
    modules = []
    for name in names:
        try:
            modules.append(__import__(name))
        except ImportError as error:
            raise BridgeError(f"this command needs the Python package '{name}' ({error}); "
                              f"install it, e.g. pip install {name}")
    return modules


def write_atomically(path, write):
    """`write(temporary_path)`, then the rename: a failed write leaves no file at `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    # No leading dot: torch.save names its zip archive after the file and refuses hidden names.
    handle, temporary = tempfile.mkstemp(prefix="torch-bridge-partial-", suffix=os.path.splitext(path)[1], dir=directory)
    os.close(handle)
    os.unlink(temporary)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


# MARK: to-checkpoint


def load_state_dict(path, torch):
    require_file(path, "--state-dict")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        # torch.load's message runs over many lines, most of them advice; keep what was wrong.
        text = str(error)
        found = re.search(r"Unsupported [^\n]*", text)
        if found:
            reason = found.group(0).split(". ")[0][:160]
            if "GLOBAL" in reason:
                reason += "; a whole pickled model: save model.state_dict() instead"
        else:
            reason = (text.strip().splitlines() or [type(error).__name__])[0][:160]
        raise BridgeError(f"--state-dict '{path}': not a file torch.load(weights_only=True) can read, expected a "
                          f"torch.save'd state dict ({reason})")
    if hasattr(loaded, "state_dict") and callable(loaded.state_dict):
        loaded = loaded.state_dict()
    if not isinstance(loaded, dict):
        raise BridgeError(f"--state-dict '{path}': holds a {type(loaded).__name__}, expected a state dict "
                          f"(a dict of parameter name to tensor, as model.state_dict() returns)")
    for name, value in loaded.items():
        if not isinstance(value, torch.Tensor):
            raise BridgeError(f"--state-dict '{path}': '{name}' is a {type(value).__name__}, expected a tensor")
        if not value.is_floating_point():
            raise BridgeError(f"--state-dict '{path}': '{name}' has dtype {value.dtype}, expected float32 or float64")
        if not bool(torch.isfinite(value).all()):
            raise BridgeError(f"--state-dict '{path}': '{name}' holds NaN or ±Inf; checkpoints hold finite numbers only")
    return loaded


def training_configuration(arguments):
    """The `TrainingConfiguration` keys the checkpoint records (configuration_json): the task, the
    model and the seed. dnc-dist fills every other key with the task's defaults when it reads it."""
    configuration = OrderedDict([
        ("task", arguments.task), ("input_size", arguments.input_size), ("memory_type", "dnc"),
        ("rnn_type", arguments.rnn_type), ("nonlinearity", arguments.nonlinearity), ("nhid", arguments.nhid),
        ("nlayer", arguments.nlayer), ("nhlayer", arguments.nhlayer), ("dropout", float(arguments.dropout)),
        ("mem_slot", arguments.mem_slot), ("mem_size", arguments.mem_size), ("read_heads", arguments.read_heads),
        ("independent_linears", arguments.independent_linears), ("share_memory", arguments.share_memory),
        ("controller_clip", float(arguments.controller_clip)), ("preset", "pytorch"), ("seed", arguments.seed),
    ])
    if arguments.sequence_max_length is not None:
        configuration["sequence_max_length"] = arguments.sequence_max_length
    if arguments.batch_size is not None:
        configuration["batch_size"] = arguments.batch_size
    return configuration


def to_checkpoint(arguments):
    if arguments.memory_type != "dnc":
        raise BridgeError(f"-memory_type '{arguments.memory_type}' is not supported (accepted: dnc; "
                          f"pytorch-dnc's SAM and SDNC differ from dnc-dist's, docs/pytorch-dnc.md)")
    if arguments.preset != "pytorch":
        raise BridgeError(f"-preset '{arguments.preset}' is not accepted (accepted: pytorch, the preset that computes "
                          f"what pytorch-dnc computes)")
    if arguments.input_size < 2:
        raise BridgeError(f"-input_size {arguments.input_size} is not accepted (accepted: at least 2, as dnc-dist's "
                          f"{arguments.task} task needs)")
    if arguments.mem_slot is None:
        raise BridgeError("-mem_slot is required (accepted: at least 1): no parameter depends on the number of memory "
                          "cells, so the state dict cannot tell it; give pytorch-dnc's nr_cells")
    if arguments.rnn_type != "rnn" and arguments.nonlinearity != "tanh":
        raise BridgeError(f"-nonlinearity {arguments.nonlinearity} is only accepted with -rnn_type rnn")
    if arguments.seed >= 1 << 64:
        raise BridgeError(f"-seed {arguments.seed} is not accepted (accepted: 0 to 2^64 − 1)")
    require_file(arguments.state_dict, "--state-dict")
    require_new_file(arguments.out, "--out")
    torch, numpy, h5py = import_libraries("torch", "numpy", "h5py")
    state = load_state_dict(arguments.state_dict, torch)
    model = DenseModel(arguments.input_size, arguments.nhid, arguments.nlayer, arguments.nhlayer, arguments.mem_slot,
                       arguments.mem_size, arguments.read_heads, arguments.rnn_type, arguments.nonlinearity,
                       arguments.dropout, arguments.independent_linears, arguments.share_memory, arguments.controller_clip)
    names = check_parameters(state, model, f"--state-dict '{arguments.state_dict}'")
    converted = [name for name in names if state[name].dtype != torch.float32]
    arrays = OrderedDict((name, state[name].detach().to(torch.float32).contiguous().numpy()) for name in names)

    configuration = training_configuration(arguments)
    # The trainer records every setting twice: typed root attributes for h5py users and the
    # JSON that dnc-dist reads back (TrainingRun.checkpoint, CheckpointConfiguration.swift).
    attributes = OrderedDict((key, value) for key, value in configuration.items())
    attributes["configuration_json"] = json.dumps(configuration, sort_keys=True, separators=(",", ":"))
    counters = {"seed": signed64(arguments.seed), "dropout_position": 0}
    step = 0
    checksum = attributes_checksum(attributes, step, counters, {}, names)

    def write(path):
        with h5py.File(path, "w", libver=("v108", "latest")) as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = numpy.int64(FORMAT_VERSION)
            f.attrs[CHECKSUM_ATTRIBUTE] = numpy.int64(signed64(checksum))
            for key in sorted(attributes):
                value = attributes[key]
                if isinstance(value, bool):
                    f.attrs[key] = numpy.bool_(value)
                elif isinstance(value, int):
                    f.attrs[key] = numpy.int64(value if value < (1 << 63) else signed64(value))
                elif isinstance(value, float):
                    f.attrs[key] = numpy.float64(value)
                else:
                    f.attrs[key] = value
            params = f.create_group("params")
            params.attrs.create("names", names, dtype=h5py.string_dtype())
            params.attrs["element_count"] = numpy.int64(sum(a.size for a in arrays.values()))
            offset = 0
            for name, array in arrays.items():
                # As CheckpointFile.write: chunked, a Fletcher-32 checksum per chunk.
                dataset = params.create_dataset(name, data=array, chunks=True, fletcher32=True)
                dataset.attrs["offset"] = numpy.int64(offset)
                offset += array.size
            state_group = f.create_group("state")
            state_group.attrs["step"] = numpy.int64(step)
            for key in sorted(counters):
                state_group.attrs[key] = numpy.int64(counters[key])

    write_atomically(arguments.out, write)
    if converted:
        print(f"note: {len(converted)} parameters stored as float32 (dnc-dist reads float32 checkpoints), e.g. "
              f"'{converted[0]}' ({str(state[converted[0]].dtype).replace('torch.', '')})")
    print(f"wrote {arguments.out}: {len(names)} parameters, {sum(a.size for a in arrays.values())} values, "
          f"dnc-dist train {arguments.task} -preset pytorch {model.flag_summary()} -mem_slot {model.mem_slot} "
          f"-seed {arguments.seed}")
    return 0


# MARK: to-state-dict


def read_checkpoint(path, h5py, numpy):
    """The configuration attributes, the counters and the parameters (in file order) of a
    checkpoint, after the checks CheckpointFile.read makes on what the bridge uses."""
    require_file(path, "--checkpoint")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise BridgeError(f"--checkpoint '{path}': not a readable HDF5 file ({error})")
    with f:
        if f.attrs.get("format") != FORMAT_NAME:
            raise BridgeError(f"--checkpoint '{path}': format is {f.attrs.get('format')!r}, expected '{FORMAT_NAME}'")
        if int(f.attrs.get("format_version", -1)) != FORMAT_VERSION:
            raise BridgeError(f"--checkpoint '{path}': format_version is {f.attrs.get('format_version')}, "
                              f"expected {FORMAT_VERSION}")
        configuration = {}
        for key, value in f.attrs.items():
            if key in RESERVED_ATTRIBUTES:
                continue
            if isinstance(value, (numpy.bool_, bool)):
                configuration[key] = bool(value)
            elif isinstance(value, (numpy.integer, int)):
                configuration[key] = int(value)
            elif isinstance(value, (numpy.floating, float)):
                configuration[key] = float(value)
            elif isinstance(value, bytes):
                configuration[key] = value.decode("utf-8")
            else:
                configuration[key] = str(value)
        if "params" not in f or "state" not in f:
            raise BridgeError(f"--checkpoint '{path}': no 'params' or 'state' group, expected a dnc-dist checkpoint")
        names = [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in f["params"].attrs["names"]]
        tensors = OrderedDict()
        for name in names:
            tensors[name] = numpy.asarray(f["params"][name][...])
        state = f["state"]
        step = int(state.attrs["step"])
        counters, scalars = {}, {}
        for key, value in state.attrs.items():
            if key == "step":
                continue
            if isinstance(value, (numpy.integer, int)):
                counters[key] = int(value)
            else:
                scalars[key] = float(value)
        optimiser = None
        if "optimizer" in f:
            group = f["optimizer"]
            optimiser = (str(group.attrs["algorithm"]), int(group.attrs["step"]), sorted(group.keys()))
        stored = int(f.attrs.get(CHECKSUM_ATTRIBUTE, 0)) & ((1 << 64) - 1)
    computed = attributes_checksum(configuration, step, counters, scalars, names, optimiser)
    if computed != stored:
        raise BridgeError(f"--checkpoint '{path}': the configuration and state attributes do not match their checksum "
                          f"(attributes_checksum {stored:x}, computed {computed:x})")
    return configuration, counters, tensors


def model_of_checkpoint(configuration, path):
    """The dense model a checkpoint describes and the seed its model was built with, or a
    BridgeError naming the setting that pytorch-dnc cannot reproduce."""
    source = f"--checkpoint '{path}'"
    if "dnc.input_size" in configuration:
        return model_of_saved_dnc(configuration, source)
    if "configuration_json" not in configuration:
        raise BridgeError(f"{source}: no model configuration (neither DNC.save's dnc.* attributes nor dnc-dist's "
                          f"configuration_json)")
    try:
        c = json.loads(configuration["configuration_json"])
    except ValueError as error:
        raise BridgeError(f"{source}: configuration_json is not JSON ({error})")

    def setting(key, default=None):
        if key in c:
            return c[key]
        if default is None:
            raise BridgeError(f"{source}: configuration_json has no '{key}', expected a dnc-dist train configuration")
        return default

    memory_type = setting("memory_type", "dnc")
    if memory_type != "dnc":
        raise BridgeError(f"{source}: memory_type is '{memory_type}', accepted: dnc (the only memory pytorch-dnc "
                          f"and dnc-dist compute alike)")
    preset = setting("preset", "paper")
    if preset != "pytorch":
        raise BridgeError(f"{source}: preset is '{preset}', accepted: pytorch (a paper-preset model computes "
                          f"something else than pytorch-dnc; train with -preset pytorch)")
    task = setting("task")
    if task not in SAME_WIDTH_TASKS:
        raise BridgeError(f"{source}: task is '{task}', accepted: {', '.join(SAME_WIDTH_TASKS)} (pytorch-dnc's "
                          f"output width is its input width)")
    model = DenseModel(int(setting("input_size")), int(setting("nhid")), int(setting("nlayer")),
                       int(setting("nhlayer")), int(setting("mem_slot")), int(setting("mem_size")),
                       int(setting("read_heads")), setting("rnn_type"), setting("nonlinearity", "tanh"),
                       float(setting("dropout", 0.0)), bool(setting("independent_linears")),
                       bool(setting("share_memory")), float(setting("controller_clip", 20.0)))
    return model, int(setting("seed"))


def model_of_saved_dnc(values, source):
    """A checkpoint of `DNC.save(to:)` (Sources/Training/Checkpoints/DNCConfiguration+Checkpoint.swift)."""
    def value(key):
        if key not in values:
            raise BridgeError(f"{source}: no attribute '{key}', expected DNC.save's dnc.* attributes")
        return values[key]

    if value("dnc.memory") != "dense":
        raise BridgeError(f"{source}: dnc.memory is '{values['dnc.memory']}', accepted: dense")
    if value("dnc.preset") != "pytorchCompat":
        raise BridgeError(f"{source}: dnc.preset is '{values['dnc.preset']}', accepted: pytorchCompat (the preset "
                          f"that computes what pytorch-dnc computes)")
    if "dnc.output_size" in values and values["dnc.output_size"] != values["dnc.input_size"]:
        raise BridgeError(f"{source}: dnc.output_size is {values['dnc.output_size']}, accepted: the input size "
                          f"{values['dnc.input_size']} (pytorch-dnc's output width is its input width)")
    if value("dnc.batch_first") is not True:
        raise BridgeError(f"{source}: dnc.batch_first is false, accepted: true (pytorch-dnc with batch_first=False "
                          f"returns another layout than dnc-dist's pytorch preset)")
    cell = value("dnc.rnn_type")
    rnn_type, nonlinearity = ("rnn", cell[4:]) if cell.startswith("rnn_") else (cell, "tanh")
    model = DenseModel(int(value("dnc.input_size")), int(value("dnc.hidden_size")), int(value("dnc.num_layers")),
                       int(value("dnc.num_hidden_layers")), int(value("dnc.nr_cells")), int(value("dnc.cell_size")),
                       int(value("dnc.read_heads")), rnn_type, nonlinearity, float(value("dnc.dropout")),
                       bool(value("dnc.independent_linears")), bool(value("dnc.share_memory_between_layers")),
                       float(value("dnc.clip")), bool(value("dnc.bias")))
    return model, None


def share_memory_argument_name():
    """pytorch-dnc 1.x (PyPI `dnc`) calls it `share_memory`, 2.0 `share_memory_between_layers`."""
    try:
        import inspect
        from dnc import DNC
        if "share_memory_between_layers" in inspect.signature(DNC.__init__).parameters:
            return "share_memory_between_layers"
    except Exception:
        pass
    return "share_memory"


def to_state_dict(arguments):
    require_file(arguments.checkpoint, "--checkpoint")
    require_new_file(arguments.out, "--out")
    if arguments.args_out is not None:
        require_new_file(arguments.args_out, "--args-out")
    torch, numpy, h5py = import_libraries("torch", "numpy", "h5py")
    configuration, counters, tensors = read_checkpoint(arguments.checkpoint, h5py, numpy)
    model, seed = model_of_checkpoint(configuration, arguments.checkpoint)
    if seed is None:
        seed = counters.get("seed", 0) & ((1 << 64) - 1)
    names = check_parameters(tensors, model, f"--checkpoint '{arguments.checkpoint}'")
    state = OrderedDict((name, torch.from_numpy(numpy.ascontiguousarray(tensors[name]))) for name in names)
    constructor = model.constructor_arguments(share_memory_argument_name())
    write_atomically(arguments.out, lambda path: torch.save(state, path))
    if arguments.args_out is not None:
        record = OrderedDict([("constructor", constructor), ("seed", seed),
                              ("initial_state", "initial_controller_state(seed, batch, hidden_size, num_hidden_layers) "
                                                "in scripts/torch-bridge.py: the controller state dnc-dist predict "
                                                "starts from")])
        text = json.dumps(record, indent=2) + "\n"

        def write_arguments(path):
            with open(path, "w") as f:
                f.write(text)

        write_atomically(arguments.args_out, write_arguments)
    call = ", ".join(f"{key}={value!r}" for key, value in constructor.items())
    print(f"wrote {arguments.out}: {len(names)} parameters, {sum(t.numel() for t in state.values())} values "
          f"({str(next(iter(state.values())).dtype).replace('torch.', '')}); the model's seed is {seed}")
    print(f"model = DNC({call}); model.load_state_dict(torch.load({arguments.out!r}))")
    return 0


def main(argv):
    try:
        arguments = parse_arguments(argv)
        if arguments.command == "to-checkpoint":
            return to_checkpoint(arguments)
        return to_state_dict(arguments)
    except BridgeError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{PROGRAM}: error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

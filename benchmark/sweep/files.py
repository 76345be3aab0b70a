"""Sweeps: a YAML file plus lm-eval-style flags become a validated list of run specs before any training.

A sweep is the cartesian product tasks × task knobs × adapters × adapter knobs × N × seeds under one
protocol. A file may hold one product (top-level keys) or a list of them (`sweeps:`, each block
overriding the top level), so that different models can run at different N in one job.

Component syntax (flags and YAML strings alike): `name[:knob=value[,value…][,knob=value…]]`, where the
name is a registered one or a class by path, `package.module:Class` (then knobs follow a second colon). A comma
followed by `key=` starts the next knob; any other comma adds a value, and several values sweep:
`parity:G=2,4,height=6` runs G ∈ {2, 4} at height 6. Tuple-valued knobs are written with `x`
(`shape=6x6`). In YAML a list is a set of values to sweep: `{parity: {G: [2, 4]}}`.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from benchmark.core.config import build_config
from benchmark.run.spec import STREAM, ProtocolConfig, RunSpec, resolve_spec
from benchmark.sweep.backends import BACKENDS

SMOKE_ENV = "TWO_CLOCKS_SMOKE"
MAX_SWEEP_FILE_BYTES = 2**20  # 1 MiB: the study's largest sweep file is a few KiB; an endless file (/dev/zero) stops here
MAX_YAML_DEPTH = 32  # a sweep file nests 5 levels (sweeps → block → adapters → {name: knobs} → values); 32 is plenty
MAX_RUNS = 100_000  # runs in one sweep: far above any study, low enough that a typo cannot hang the expansion
SMOKE_LIMITS = {"max_steps": 20, "eval_points": 3, "eval_samples": 32}  # a smoke run proves the pipes, not the science
SETTINGS_KEYS = ("output", "device", "jobs", "backend", "include")
BLOCK_KEYS = ("tasks", "adapters", "n", "seeds", "protocol")
TEXT_KEYS = ("name", "description")
FILE_KEYS = (*BLOCK_KEYS, *SETTINGS_KEYS, *TEXT_KEYS, "sweeps")


class SweepError(ValueError):
    """A sweep file or flag is malformed; the message names the file or flag and the problem."""


@dataclass(frozen=True)
class Choice:
    """A task or adapter with, for each knob given, the values to sweep (one value: no sweep)."""

    name: str
    knobs: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def combinations(self) -> list[dict[str, Any]]:
        """Every knob assignment in the product of the knobs' values."""
        names = [name for name, _ in self.knobs]
        return [dict(zip(names, values)) for values in itertools.product(*(values for _, values in self.knobs))]

    def with_knobs(self, extra: Choice) -> Choice:
        """This choice with `extra`'s knobs replacing or adding to its own."""
        merged = dict(self.knobs)
        merged.update(dict(extra.knobs))
        return Choice(self.name, tuple(merged.items()))


@dataclass(frozen=True)
class Block:
    """One cartesian product of a sweep."""

    tasks: tuple[Choice, ...] = ()
    adapters: tuple[Choice, ...] = ()
    n: tuple[int | str, ...] = ()  # positive ints, or STREAM
    seeds: tuple[int, ...] = (0,)
    protocol: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Sweep:
    """A whole sweep: its products and how to run them (output, device, parallelism, backend, plugins)."""

    blocks: tuple[Block, ...]
    output: str = "runs"
    device: str = "auto"
    jobs: int = 1
    backend: str = "local"
    include: tuple[str, ...] = ()
    source: str = "<flags>"


@dataclass(frozen=True)
class Overrides:
    """Command-line flags; a field left empty/None keeps what the file says."""

    tasks: tuple[str, ...] = ()
    adapters: tuple[str, ...] = ()
    task_args: tuple[str, ...] = ()
    adapter_args: tuple[str, ...] = ()
    n: tuple[int | str, ...] = ()
    seeds: tuple[int, ...] = ()
    protocol: Mapping[str, Any] = field(default_factory=dict)
    output: str | None = None
    device: str | None = None
    jobs: int | None = None
    backend: str | None = None
    include: tuple[str, ...] = ()


# --- component syntax --------------------------------------------------------------------------


def parse_choice(text: str, where: str = "", *, class_paths: bool = True) -> Choice:
    """'parity:G=2,4,height=6' → Choice('parity', (('G', ('2', '4')), ('height', ('6',))))."""
    prefix = f"{where}: " if where else ""
    name, sep, rest = text.strip().partition(":")
    name = name.strip()
    attribute, _, after = rest.partition(":")
    if class_paths and sep and "=" not in attribute and attribute.strip().isidentifier():  # a class by path: package.module:Class[:knobs]
        name, sep, rest = f"{name}:{attribute.strip()}", ":" if after else "", after
    if not name:
        raise SweepError(f"{prefix}{text!r} has no name (expected name[:knob=value,...])")
    if not sep:
        return Choice(name)
    knobs: dict[str, list[str]] = {}
    current: str | None = None
    for part in rest.split(","):
        part = part.strip()
        if "=" in part:
            current, _, value = part.partition("=")
            current = current.strip()
            if not current:
                raise SweepError(f"{prefix}{text!r}: empty knob name before '='")
            if current in knobs:
                raise SweepError(f"{prefix}{text!r}: knob {current!r} given twice")
            knobs[current] = [value.strip()]
        elif current is None:
            raise SweepError(f"{prefix}{text!r}: expected knob=value after ':', got {part!r}")
        elif part:
            knobs[current].append(part)
    return Choice(name, tuple((knob, tuple(values)) for knob, values in knobs.items()))


def parse_knob_list(text: str, where: str) -> dict[str, Any]:
    """'theta_rule=0.8,hold=3' → {'theta_rule': '0.8', 'hold': '3'} (no sweeping: one value per knob)."""
    first = text.strip().split(",", 1)[0].strip()
    if text.strip() and "=" not in first:
        raise SweepError(f"{where}: expected knob=value[,knob=value...], got {text!r}")
    choice = parse_choice(f"x:{text}", where, class_paths=False)
    for knob, values in choice.knobs:
        if len(values) != 1:
            raise SweepError(f"{where}: knob {knob!r} takes one value, got {', '.join(values)}")
    return {knob: values[0] for knob, values in choice.knobs}


# --- files -------------------------------------------------------------------------------------


def default_job_text() -> str:
    """The packaged default job (`benchmark/configs/default.yaml`)."""
    try:
        return resources.files("benchmark").joinpath("configs/default.yaml").read_text()
    except OSError:
        raise SweepError("the packaged default job benchmark/configs/default.yaml is missing: reinstall two-clocks, or pass --config") from None


def load_sweep(path: str | os.PathLike[str] | None) -> Sweep:
    """Read a sweep file (the packaged default job when `path` is None); every error names the file."""
    if path is None:
        return parse_sweep_text(default_job_text(), "default job (benchmark/configs/default.yaml)", base=None)
    path = Path(path)
    try:
        with path.open("rb") as handle:  # capped: /dev/zero or a huge file is one line, not a MemoryError
            data = handle.read(MAX_SWEEP_FILE_BYTES + 1)
    except IsADirectoryError:
        raise SweepError(f"{path}: is a directory, expected a YAML sweep file") from None
    except OSError as error:
        raise SweepError(f"{path}: cannot read sweep file ({error.strerror or error})") from None
    except ValueError:  # e.g. a NUL byte in the path
        raise SweepError(f"{str(path)!r}: not a valid path for a sweep file") from None
    if len(data) > MAX_SWEEP_FILE_BYTES:
        raise SweepError(f"{path}: larger than {MAX_SWEEP_FILE_BYTES // 2**20} MiB, the most a sweep file may hold")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SweepError(f"{path}: not a text file") from None
    return parse_sweep_text(text, str(path), base=path.parent)


def parse_sweep_text(text: str, source: str, base: Path | None) -> Sweep:
    """Parse YAML text into a `Sweep`; relative `include:` paths are taken from `base`."""
    import yaml  # local: keeps `python -m benchmark list` fast

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SweepError(f"{source}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise SweepError(f"{source}: nested too deeply (a sweep file nests at most {MAX_YAML_DEPTH} levels)") from None
    except ValueError as error:  # a scalar YAML accepts but Python cannot hold, e.g. an integer of 5000 digits
        raise SweepError(f"{source}: malformed YAML: {' '.join(str(error).split())[:120]}") from None
    _check_structure(data, source)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SweepError(f"{source}: expected a mapping of sweep keys at the top level, got {type(data).__name__}")
    _check_keys(data, FILE_KEYS, source, "")
    top = _parse_block(data, source, "")
    blocks_data = data.get("sweeps")
    if blocks_data is None:
        blocks: tuple[Block, ...] = (top,)
    else:
        if not isinstance(blocks_data, list) or not blocks_data:
            raise SweepError(f"{source}: sweeps must be a non-empty list of sweep blocks")
        parsed: list[Block] = []
        for index, block_data in enumerate(blocks_data):
            where = f"sweeps[{index}]"
            if not isinstance(block_data, Mapping):
                raise SweepError(f"{source}: {where} must be a mapping, got {type(block_data).__name__}")
            _check_keys(block_data, BLOCK_KEYS, source, f"{where}.")
            parsed.append(_merge_block(top, _parse_block(block_data, source, f"{where}."), block_data))
        blocks = tuple(parsed)
    for key in TEXT_KEYS:
        if key in data and not isinstance(data[key], str):
            raise SweepError(f"{source}: {key} must be a string, got {type(data[key]).__name__}")
    settings: dict[str, Any] = {}
    for key in ("output", "device", "backend"):
        if key in data:
            if not isinstance(data[key], str) or not data[key]:
                raise SweepError(f"{source}: {key} must be a non-empty string, got {data[key]!r}")
            settings[key] = data[key]
    if settings.get("backend", "local") not in BACKENDS:
        raise SweepError(f"{source}: backend must be one of {', '.join(BACKENDS)}, got {settings['backend']!r}")
    if "jobs" in data:
        settings["jobs"] = _positive_int(data["jobs"], source, "jobs")
    if "include" in data:
        include = data["include"]
        items = [include] if isinstance(include, str) else include
        if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
            raise SweepError(f"{source}: include must be a path or module name, or a list of them")
        settings["include"] = tuple(_resolve_include(item, base) for item in items)
    return Sweep(blocks=blocks, source=source, **settings)


def _check_structure(data: Any, source: str) -> None:
    """Refuse YAML nested deeper than MAX_YAML_DEPTH or holding a cycle (`a: &x [*x]`); walked without recursion.

    Aliases may share a node between places (each node is visited once), so a file cannot make the walk
    blow up, and everything after it (expansion, hashing) sees a finite, shallow tree.
    """
    height: dict[int, int] = {}  # id of a finished container → levels below and including it
    stack: list[tuple[Any, bool]] = [(data, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        children = [item for item in (node.values() if isinstance(node, dict) else node) if isinstance(item, (dict, list))]
        if children_done:
            open_nodes.discard(key)
            height[key] = 1 + max((height[id(child)] for child in children), default=0)
            if height[key] > MAX_YAML_DEPTH:
                raise SweepError(f"{source}: nested too deeply (a sweep file nests at most {MAX_YAML_DEPTH} levels)")
            continue
        if key in height:
            continue
        if key in open_nodes:
            raise SweepError(f"{source}: an alias refers to a node that contains it (a cycle): sweep files must be trees")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children)


def _resolve_include(item: str, base: Path | None) -> str:
    """A .py path in a file is relative to that file; module names pass through."""
    if base is not None and item.endswith(".py") and not os.path.isabs(item):
        return str(base / item)
    return item


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], source: str, where: str) -> None:
    for key in data:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), list(allowed), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise SweepError(f"{source}: unknown key {where}{key}{suggestion} (allowed: {', '.join(allowed)})")


def _parse_block(data: Mapping[str, Any], source: str, where: str) -> Block:
    values: dict[str, Any] = {}
    if "tasks" in data:
        values["tasks"] = _parse_choices(data["tasks"], source, f"{where}tasks")
    if "adapters" in data:
        values["adapters"] = _parse_choices(data["adapters"], source, f"{where}adapters")
    if "n" in data:
        values["n"] = _n_list(data["n"], source, f"{where}n")
    if "seeds" in data:
        values["seeds"] = _int_list(data["seeds"], source, f"{where}seeds", minimum=0)
    if "protocol" in data:
        protocol = data["protocol"]
        if not isinstance(protocol, Mapping):
            raise SweepError(f"{source}: {where}protocol must be a mapping of protocol knobs, got {protocol!r}")
        values["protocol"] = tuple(protocol.items())
    return Block(**values)


def _merge_block(top: Block, block: Block, present: Mapping[str, Any]) -> Block:
    """A block's keys replace the top level's; protocol knobs merge knob by knob."""
    merged = {name: getattr(block if name in present else top, name) for name in ("tasks", "adapters", "n", "seeds")}
    merged["protocol"] = tuple({**dict(top.protocol), **dict(block.protocol)}.items())
    return Block(**merged)


def _parse_choices(value: Any, source: str, where: str) -> tuple[Choice, ...]:
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, list) or not items:
        raise SweepError(f"{source}: {where} must be a non-empty list of names (e.g. parity:G=2,4 or {{parity: {{G: [2, 4]}}}})")
    choices: list[Choice] = []
    for index, item in enumerate(items):
        label = f"{source}: {where}[{index}]"
        if isinstance(item, str):
            choices.append(parse_choice(item, label))
        elif isinstance(item, Mapping):
            for name, knobs in item.items():
                if knobs is None:
                    knobs = {}
                if not isinstance(name, str) or not isinstance(knobs, Mapping):
                    raise SweepError(f"{label}: expected name: {{knob: value}}, got {name!r}: {knobs!r}")
                for knob, value in knobs.items():
                    if value == []:
                        raise SweepError(f"{label}: {name}.{knob} has an empty list of values")
                choices.append(Choice(name, tuple((str(k), _values(v)) for k, v in knobs.items())))
        else:
            raise SweepError(f"{label}: expected a name or a mapping, got {item!r}")
    return tuple(choices)


def _values(value: Any) -> tuple[Any, ...]:
    """A YAML list sweeps its items; a scalar is one value."""
    if isinstance(value, list):
        return tuple(tuple(item) if isinstance(item, list) else item for item in value)
    return (value,)


def _n_list(value: Any, source: str, where: str) -> tuple[int | str, ...]:
    """Training-set sizes: positive integers, or `stream` (fresh batches from the task's sampler, no training set)."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(item == STREAM or (isinstance(item, int) and not isinstance(item, bool) and item >= 1) for item in items):
        raise SweepError(f"{source}: {where} must be a positive integer or {STREAM!r}, or a list of them, got {value!r}")
    return tuple(items)


def _int_list(value: Any, source: str, where: str, minimum: int) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    bound = "positive" if minimum == 1 else "non-negative"
    if not items or not all(isinstance(item, int) and not isinstance(item, bool) and item >= minimum for item in items):
        raise SweepError(f"{source}: {where} must be a {bound} integer or a list of them, got {value!r}")
    return tuple(items)


def _positive_int(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SweepError(f"{source}: {where} must be a positive integer, got {value!r}")
    return value


# --- flags over the file -----------------------------------------------------------------------


def apply_overrides(sweep: Sweep, flags: Overrides) -> Sweep:
    """Flags replace what the file says, in every block; `--*-args` add knobs to the named components."""
    task_choices = tuple(parse_choice(text, "--tasks") for text in flags.tasks)
    adapter_choices = tuple(parse_choice(text, "--adapters") for text in flags.adapters)
    task_args = [parse_choice(text, "--task-args") for text in flags.task_args]
    adapter_args = [parse_choice(text, "--adapter-args") for text in flags.adapter_args]
    blocks = []
    for block in sweep.blocks:
        block = dataclasses.replace(
            block,
            tasks=task_choices or block.tasks,
            adapters=adapter_choices or block.adapters,
            n=tuple(flags.n) or block.n,
            seeds=tuple(flags.seeds) or block.seeds,
            protocol=tuple({**dict(block.protocol), **dict(flags.protocol)}.items()),
        )
        block = dataclasses.replace(block, tasks=_add_knobs(block.tasks, task_args), adapters=_add_knobs(block.adapters, adapter_args))
        blocks.append(block)
    for flag, extras, kind in (("--task-args", task_args, "tasks"), ("--adapter-args", adapter_args, "adapters")):
        present = {choice.name for block in blocks for choice in getattr(block, kind)}
        for extra in extras:
            if extra.name not in present:
                raise SweepError(f"{flag} names {extra.name!r}, which is not in the sweep ({kind}: {', '.join(sorted(present)) or 'none'})")
    return dataclasses.replace(
        sweep,
        blocks=tuple(blocks),
        output=flags.output if flags.output is not None else sweep.output,
        device=flags.device if flags.device is not None else sweep.device,
        jobs=flags.jobs if flags.jobs is not None else sweep.jobs,
        backend=flags.backend if flags.backend is not None else sweep.backend,
        include=(*sweep.include, *flags.include),
    )


def _add_knobs(choices: tuple[Choice, ...], extras: Iterable[Choice]) -> tuple[Choice, ...]:
    """Each extra's knobs merged into the choices of the same name."""
    for extra in extras:
        choices = tuple(choice.with_knobs(extra) if choice.name == extra.name else choice for choice in choices)
    return choices


# --- expansion ---------------------------------------------------------------------------------


def smoke_enabled(flag: bool = False) -> bool:
    """`--smoke` or TWO_CLOCKS_SMOKE=1: shrink steps and samples so a job runs in seconds (tests, CI)."""
    return flag or os.environ.get(SMOKE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _shrink_for_smoke(protocol: ProtocolConfig) -> ProtocolConfig:
    """Cap max_steps, eval points and eval samples at `SMOKE_LIMITS` (smoke runs get their own run ids)."""
    return dataclasses.replace(protocol, **{name: min(getattr(protocol, name), cap) for name, cap in SMOKE_LIMITS.items()})


def expand(sweep: Sweep, *, smoke: bool = False) -> list[RunSpec]:
    """Validate and resolve every run of the sweep (duplicates dropped, order kept); nothing trains.

    The checks are the plan's (`benchmark.sweep.plan.plan_runs`): this returns the specs of its runs.
    """
    from benchmark.sweep.plan import plan_runs  # local: the plan stands on this module

    return [run.spec for run in plan_runs(sweep, smoke=smoke)]


def iter_specs(sweep: Sweep, *, smoke: bool = False) -> Iterator[RunSpec]:
    """Every run of the sweep's products, resolved (knobs validated, defaults filled), in order, duplicates included."""
    if sweep.backend not in BACKENDS:
        raise SweepError(f"backend must be one of {', '.join(BACKENDS)}, got {sweep.backend!r}")
    for index, block in enumerate(sweep.blocks):
        where = f"{sweep.source}" + (f" sweeps[{index}]" if len(sweep.blocks) > 1 else "")
        for key, label in (("tasks", "tasks (--tasks)"), ("adapters", "adapters (--adapters)"), ("n", "training-set sizes (--n)")):
            if not getattr(block, key):
                raise SweepError(f"{where}: no {label} given")
    count = sum(_block_size(block) for block in sweep.blocks)
    if count > MAX_RUNS:
        raise SweepError(f"{sweep.source}: the sweep has {count:,} runs, more than the {MAX_RUNS:,} one sweep may hold: split it")
    for block in sweep.blocks:
        protocol = build_config(ProtocolConfig, dict(block.protocol))
        if smoke:
            protocol = _shrink_for_smoke(protocol)
        for task_choice in block.tasks:
            for task_knobs in task_choice.combinations():
                for adapter_choice in block.adapters:
                    for adapter_knobs in adapter_choice.combinations():
                        for n_train, seed in itertools.product(block.n, block.seeds):
                            yield resolve_spec(task_choice.name, task_knobs, adapter_choice.name, adapter_knobs, n_train, seed, protocol)


def _block_size(block: Block) -> int:
    """Runs in a block's product, before duplicates are dropped."""

    def choices(items: tuple[Choice, ...]) -> int:
        total = 0
        for choice in items:
            product = 1
            for _, values in choice.knobs:
                product *= len(values)
            total += product
        return total

    return choices(block.tasks) * choices(block.adapters) * len(block.n) * len(block.seeds)


__all__ = [
    "BLOCK_KEYS",
    "FILE_KEYS",
    "MAX_RUNS",
    "MAX_SWEEP_FILE_BYTES",
    "MAX_YAML_DEPTH",
    "SETTINGS_KEYS",
    "SMOKE_ENV",
    "SMOKE_LIMITS",
    "TEXT_KEYS",
    "Block",
    "Choice",
    "Overrides",
    "Sweep",
    "SweepError",
    "apply_overrides",
    "default_job_text",
    "expand",
    "iter_specs",
    "load_sweep",
    "parse_choice",
    "parse_knob_list",
    "parse_sweep_text",
    "smoke_enabled",
]

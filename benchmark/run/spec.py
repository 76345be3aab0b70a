"""Run specs: what one run is (task, adapter, N, seed, protocol settings) and its content-hash id.

A spec is fully resolved (every knob with its default filled in) and its task and adapter named by their
canonical names before hashing, so `parity`, `parity:G=2` and `tasks.parity:ParityTask` name the same run. Runtime choices that do not change the science (device, quiet,
checkpoint retention) are not part of the spec and not part of the id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from benchmark.core.config import BaseConfig, ConfigError, build_config, require

PROTOCOL_VERSION = "2.0"
EVAL_SCHEDULES = ("log", "linear")
BATCHING = ("epochs", "replacement")
STREAM = "stream"  # n_train of a run with no fixed training set: every batch is drawn fresh from the task's sampler
# Upper bounds of the protocol's knobs (benchmark/PROTOCOL.md, "Bounds"): far above any study, low enough that a
# typo (10**31 steps, 10**12 samples) is refused before training instead of running for ever or exhausting memory.
MAX_STEPS = 10**9
MAX_EVAL_POINTS = 1000
MAX_EVAL_SAMPLES = 10**6
MAX_HOLD = 1000
MAX_THREADS = 256


@dataclass(frozen=True)
class ProtocolConfig(BaseConfig):
    """The clock-measurement protocol's knobs; defaults and their reasons are in benchmark/PROTOCOL.md."""

    version: ClassVar[str] = PROTOCOL_VERSION

    max_steps: int = field(default=2000, metadata={"help": "training steps (upper bound; early stop may end sooner)", "max": MAX_STEPS})
    eval_schedule: str = field(default="log", metadata={"help": "log-spaced or linear eval steps"})
    eval_points: int = field(default=30, metadata={"help": "number of evals after step 0", "max": MAX_EVAL_POINTS})
    eval_samples: int = field(default=1024, metadata={"help": "most samples drawn from the model at an eval (M)", "max": MAX_EVAL_SAMPLES})
    eval_samples_min: int = field(default=64, metadata={"help": "samples drawn first (at most M); doubled until every clock curve is clear of its threshold, or M"})
    sampling_seed: int = field(default=0, metadata={"help": "seed of the sampling noise, the same at every eval", "min": 0})
    batching: str = field(default="epochs", metadata={"help": "shuffled epochs, or batches drawn with replacement"})
    near_distance: int = field(default=1, metadata={"help": "a sample 1..near_distance cells from a training sample is a near-copy (0: none)"})
    min_noncopy: int = field(default=64, metadata={"help": "fewest non-copies the rule curve is read on (see min_noncopy_fraction)"})
    min_noncopy_fraction: float = field(default=0.1, metadata={"help": "and at least this fraction of eval_samples"})
    theta_rule: float = field(default=0.9, metadata={"help": "τ_rule threshold on the chance-normalised validity of non-copies"})
    theta_mem: float = field(default=0.1, metadata={"help": "τ_mem threshold on mem − control (onset); τ_mem_near on copies + near-copies"})
    theta_mem_strong: float = field(default=0.5, metadata={"help": "second τ_mem threshold, recorded alongside"})
    hold: int = field(default=2, metadata={"help": "consecutive evals a crossing must hold for a clock to fire", "max": MAX_HOLD})
    early_stop: bool = field(default=True, metadata={"help": "stop once τ_mem has fired and τ_rule has fired or can no longer be read"})
    threads: int = field(
        default=1,
        metadata={"help": "torch CPU threads of the run: part of the spec, since the thread count changes float reductions", "max": MAX_THREADS},
    )

    def validate(self) -> None:
        super().validate()
        require(self.max_steps >= 1, self, "max_steps", "a positive integer", self.max_steps)
        require(self.eval_schedule in EVAL_SCHEDULES, self, "eval_schedule", f"one of {', '.join(EVAL_SCHEDULES)}", self.eval_schedule)
        require(self.eval_points >= 1, self, "eval_points", "a positive integer", self.eval_points)
        require(self.eval_samples >= 1, self, "eval_samples", "a positive integer", self.eval_samples)
        require(self.eval_samples_min >= 1, self, "eval_samples_min", "a positive integer (at or above eval_samples: every eval draws eval_samples)", self.eval_samples_min)
        require(self.batching in BATCHING, self, "batching", f"one of {', '.join(BATCHING)}", self.batching)
        require(self.near_distance >= 0, self, "near_distance", "a non-negative integer", self.near_distance)
        require(self.min_noncopy >= 1, self, "min_noncopy", "a positive integer", self.min_noncopy)
        require(0.0 <= self.min_noncopy_fraction <= 1.0, self, "min_noncopy_fraction", "a number in [0, 1]", self.min_noncopy_fraction)
        for name in ("theta_rule", "theta_mem", "theta_mem_strong"):
            value = getattr(self, name)
            require(0.0 < value <= 1.0, self, name, "a number in (0, 1]", value)
        require(self.hold >= 1, self, "hold", "a positive integer", self.hold)
        require(self.threads >= 1, self, "threads", "a positive integer", self.threads)

    @property
    def noncopy_floor(self) -> int:
        """The fewest non-copies an eval needs for the rule curve to be defined: max(min_noncopy, ⌈fraction·M⌉)."""
        return max(self.min_noncopy, math.ceil(self.min_noncopy_fraction * self.eval_samples))


@dataclass(frozen=True)
class ComponentSpec:
    """A task or adapter by name with its fully resolved knobs (sorted name/value pairs)."""

    name: str
    knobs: tuple[tuple[str, Any], ...] = ()
    version: Any = None  # the config class's `version`: data changes when it does, so it is hashed

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.knobs)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "config": self.config, "version": self.version}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComponentSpec:
        return cls(data["name"], tuple(sorted(_freeze(data.get("config", {})).items())), data.get("version"))


@dataclass(frozen=True)
class RunSpec:
    """One run of the protocol; its `run_id` is a content hash of this, fully resolved."""

    task: ComponentSpec
    adapter: ComponentSpec
    n_train: int | str  # a positive int, or STREAM: fresh batches from the task's sampler, no training set
    seed: int
    protocol: ProtocolConfig = ProtocolConfig()

    @property
    def stream(self) -> bool:
        """True when there is no fixed training set (τ_mem is not applicable)."""
        return self.n_train == STREAM

    def train_size(self) -> int:
        """N as an int, for code past a `stream` check (which the type checker cannot see); a stream run has none."""
        if isinstance(self.n_train, int):
            return self.n_train
        raise ValueError(f"a stream run has no training set size (n_train={self.n_train!r})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task.to_dict(),
            "adapter": self.adapter.to_dict(),
            "n_train": self.n_train,
            "seed": self.seed,
            "protocol": {**self.protocol.to_dict(), "version": self.protocol.version},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        protocol = {k: v for k, v in data.get("protocol", {}).items() if k != "version"}
        return cls(
            task=ComponentSpec.from_dict(data["task"]),
            adapter=ComponentSpec.from_dict(data["adapter"]),
            n_train=data["n_train"] if data["n_train"] == STREAM else int(data["n_train"]),
            seed=int(data["seed"]),
            protocol=build_config(ProtocolConfig, protocol),
        )

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the spec's canonical JSON: what a checkpoint is stamped with."""
        return hashlib.sha256(canonical_json(self.to_dict()).encode()).hexdigest()

    @property
    def run_id(self) -> str:
        """Readable prefix plus the first 12 hex digits of the spec's SHA-256."""
        prefix = f"{_slug(self.adapter.name)}_{_slug(self.task.name)}_N{self.n_train}_s{self.seed}"
        return f"{prefix}_{self.digest[:12]}"


def resolve_spec(
    task: str,
    task_knobs: Mapping[str, Any],
    adapter: str,
    adapter_knobs: Mapping[str, Any],
    n_train: int | str,
    seed: int,
    protocol: ProtocolConfig | Mapping[str, Any] | None = None,
) -> RunSpec:
    """Validate every part (task and adapter knobs, N, seed, protocol) and return the resolved spec."""
    import adapters  # local: keeps `import benchmark.run.spec` light
    import tasks

    task_config = build_config(tasks.get_class(task).config_class, task_knobs)
    adapter_config = build_config(adapters.get_class(adapter).config_class, adapter_knobs)
    task, adapter = tasks.TASKS.canonical_name(task), adapters.ADAPTERS.canonical_name(adapter)  # aliases: one run id
    if n_train != STREAM and (isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 1):
        raise ConfigError(f"n_train must be a positive integer or {STREAM!r}, got {n_train!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(protocol, ProtocolConfig):
        protocol = build_config(ProtocolConfig, protocol or {})
    return RunSpec(
        task=_component(task, task_config),
        adapter=_component(adapter, adapter_config),
        n_train=n_train,
        seed=seed,
        protocol=protocol,
    )


def _component(name: str, config: BaseConfig) -> ComponentSpec:
    return ComponentSpec(name, tuple(sorted(_freeze(config.to_dict()).items())), getattr(config, "version", None))


def canonical_json(data: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace) for hashing."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)  # type: ignore[arg-type]  # json.dumps passes instances, never dataclass types
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} in a run spec")


def _freeze(config: Mapping[str, Any]) -> dict[str, Any]:
    """Lists become tuples so specs stay hashable; JSON round-trips them back to lists."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name.rsplit(":", 1)[-1]).strip("-").lower() or "x"


__all__ = [
    "PROTOCOL_VERSION",
    "EVAL_SCHEDULES",
    "BATCHING",
    "STREAM",
    "MAX_STEPS",
    "MAX_EVAL_POINTS",
    "MAX_EVAL_SAMPLES",
    "MAX_HOLD",
    "MAX_THREADS",
    "ProtocolConfig",
    "ComponentSpec",
    "RunSpec",
    "resolve_spec",
    "canonical_json",
]

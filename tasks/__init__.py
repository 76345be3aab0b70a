"""The registry of rule tasks. `tasks.get("parity", G=4)` builds a validated task; `tasks.names()` lists them.

Bundled tasks are registered lazily as `"module:Class"` strings so that importing this package is
instant; third-party tasks arrive through the entry-point group `two_clocks.tasks`.
"""

from __future__ import annotations

from typing import Any

from benchmark.core.config import build_config
from benchmark.core.registry import Registry, RegistryError
from benchmark.core.task import SAMPLE_DTYPE, Task, TaskConfig, sample_keys

TASKS: Registry[type[Task]] = Registry("task", entry_point_group="two_clocks.tasks")

register_task = TASKS.register

# Bundled tasks: name -> "module:Class", imported on first use.
TASKS.register("parity", "tasks.parity:ParityTask")
TASKS.register("rowcol_parity", "tasks.rowcol_parity:RowColParityTask")
TASKS.register("xor_code", "tasks.xor_code:XorCodeTask")
TASKS.register("balanced", "tasks.balanced:BalancedTask")
TASKS.register("automaton", "tasks.automaton:AutomatonTask")
TASKS.register("sudoku", "tasks.sudoku:SudokuTask")
TASKS.register("latin_square", "tasks.latin_square:LatinSquareTask")


def get(name: str, **knobs: Any) -> Task:
    """Build the task `name` (a registered name or `"module:Class"`) with validated `knobs`."""
    task_class = get_class(name)
    return task_class(build_config(task_class.config_class, knobs))


def get_class(name: str) -> type[Task]:
    """The task class for `name`, checked to implement the `Task` contract."""
    task_class = TASKS.get(name)
    if not (isinstance(task_class, type) and issubclass(task_class, Task)):
        raise RegistryError(f"{name!r} resolved to {task_class!r}, which is not a tasks.Task subclass")
    return task_class


def names() -> list[str]:
    """Every registered task name, plugins included."""
    return TASKS.names()


__all__ = ["SAMPLE_DTYPE", "TASKS", "Task", "TaskConfig", "get", "get_class", "names", "register_task", "sample_keys"]

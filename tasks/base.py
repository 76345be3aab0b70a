"""The task contract, re-exported where task files have always imported it (it lives in `benchmark.core.task`)."""

from benchmark.core.task import SAMPLE_DTYPE, GridTask, Task, TaskConfig, out_of_range, sample_keys

__all__ = ["SAMPLE_DTYPE", "GridTask", "Task", "TaskConfig", "out_of_range", "sample_keys"]

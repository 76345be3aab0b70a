"""The software and hardware a run used, recorded so another lab can tell whether it reproduces the same setup.

Versions come from installed package metadata (nothing heavy is imported); the git commit is read from the
checkout this package lives in, suffixed `-dirty` when tracked files differ from it, None outside git.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def package_version(name: str) -> str | None:
    """Installed version of distribution `name`, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(root: Path = PACKAGE_ROOT) -> str | None:
    """HEAD of the checkout at `root` (with `-dirty` if tracked files are modified); None when not a git checkout."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True, timeout=10)
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
            return None  # not a checkout of this package (e.g. installed inside some other repository)
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    return f"{commit}-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else commit


def cpu_model() -> str | None:
    """The CPU's model name (/proc/cpuinfo on Linux, else what `platform` knows), or None."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith(("model name", "hardware", "cpu model")) and ":" in line:
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or None


def describe_environment(device: Any) -> dict[str, Any]:
    """The record's `environment` block: software versions, git commit, device, platform, and what decides float reductions.

    Bit-identical records need the same software, the same thread count (`threads`, from the spec) and the same
    instruction set torch dispatches to (`cpu_capability`: e.g. AVX2, AVX512); `cpu` and `gpu` say which machine.
    """
    import torch

    from benchmark.core.version import __version__

    device_name = str(device)
    gpu = None
    if getattr(device, "type", None) == "cuda":
        gpu = torch.cuda.get_device_name(device)
        device_name += f" ({gpu})"
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: None)()
    return {
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "numpy": package_version("numpy"),
        "diffusers": package_version("diffusers"),
        "transformers": package_version("transformers"),
        "two_clocks": __version__,
        "git_commit": git_commit(),
        "device": device_name,
        "platform": f"{platform.platform()} ({sys.implementation.name})",
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "cpu_capability": capability,
        "gpu": gpu,
    }


__all__ = ["PACKAGE_ROOT", "package_version", "git_commit", "cpu_model", "describe_environment"]

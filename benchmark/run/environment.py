"""The software and hardware a run used, recorded so another lab can tell whether it reproduces the same setup.

Versions come from installed package metadata (nothing heavy is imported); the git commit is read from the
checkout this package lives in, suffixed `-dirty` when tracked files differ from it, None outside git.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the checkout: benchmark/run/environment.py → ../..


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


LOADED_COMMIT = git_commit()
"""The checkout's commit when this process loaded the code: records name the code that ran, not HEAD when they were written."""


# The arm64 "CPU implementer" codes of /proc/cpuinfo (the Linux kernel's and lscpu's tables), for the vendor.
ARM_IMPLEMENTERS = {
    0x41: "ARM", 0x42: "Broadcom", 0x43: "Cavium", 0x46: "Fujitsu", 0x48: "HiSilicon", 0x4E: "NVIDIA",
    0x50: "APM", 0x51: "Qualcomm", 0x61: "Apple", 0x6D: "Microsoft", 0xC0: "Ampere",
}  # fmt: skip


@dataclass(frozen=True)
class CpuIdentity:
    """Which CPU a run used: its vendor (e.g. GenuineIntel, AuthenticAMD, ARM) and model name; None where unknown."""

    vendor: str | None
    model: str | None


def parse_cpuinfo(text: str) -> CpuIdentity:
    """The first processor's vendor and model from /proc/cpuinfo text (x86-64: vendor_id, model name; arm64: CPU implementer, part)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and value.strip() and key not in fields:
            fields[key] = value.strip()
    vendor = fields.get("vendor_id")
    implementer = fields.get("cpu implementer")
    if vendor is None and implementer is not None:
        try:
            vendor = ARM_IMPLEMENTERS.get(int(implementer, 16), implementer)
        except ValueError:
            vendor = implementer
    model = fields.get("model name") or fields.get("cpu model") or fields.get("hardware")
    if model is None and implementer is not None and "cpu part" in fields:
        model = f"{vendor} part {fields['cpu part']}"  # arm64 kernels name no model; lscpu decodes the part
    return CpuIdentity(vendor, model)


def cpu_identity() -> CpuIdentity:
    """This machine's CPU: /proc/cpuinfo (Linux), `lscpu`'s decoded model name, else sysctl (macOS) or `platform`; never fails."""
    found = CpuIdentity(None, None)
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            found = parse_cpuinfo(cpuinfo.read(1 << 20))
    except OSError:
        pass
    vendor, model = found.vendor, found.model
    if model is None or " part " in model:
        model = _command_field(["lscpu"], "Model name") or model
    if sys.platform == "darwin":
        model = model or _command_field(["sysctl", "-n", "machdep.cpu.brand_string"], None)
        vendor = vendor or _command_field(["sysctl", "-n", "machdep.cpu.vendor"], None) or ("Apple" if platform.machine() == "arm64" else None)
    return CpuIdentity(vendor, model or platform.processor() or None)


def cpu_model() -> str | None:
    """The CPU's model name, or None."""
    return cpu_identity().model


def _command_field(argv: list[str], field: str | None) -> str | None:
    """`field` of a command's "Field: value" output (its whole first line when None); None when it cannot tell."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")})
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if done.returncode != 0:
        return None
    for line in done.stdout.splitlines():
        if field is None:
            return line.strip() or None
        key, sep, value = line.partition(":")
        if sep and key.strip() == field and value.strip() and value.strip() != "-":
            return value.strip()
    return None


def cpu_capability() -> str | None:
    """The instruction set torch's own kernels dispatch to (e.g. AVX2, AVX512, DEFAULT); None on a torch without the query."""
    import torch

    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # noqa: BLE001 - an old or unusual build: the record says it does not know
        return None


def describe_environment(device: Any) -> dict[str, Any]:
    """The record's `environment` block: software versions, git commit, device, platform, and what decides float reductions.

    Bit-identical records need the same software, the same thread count (`threads`), the same CPU model (`cpu`,
    `cpu_vendor`: the BLAS picks its kernels by vendor and model) and so the same `cpu_capability`; `gpu` likewise.
    """
    import torch

    from benchmark.core.version import __version__

    device_name = str(device)
    gpu = None
    if getattr(device, "type", None) == "cuda":
        gpu = torch.cuda.get_device_name(device)
        device_name += f" ({gpu})"
    cpu = cpu_identity()
    return {
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "numpy": package_version("numpy"),
        "diffusers": package_version("diffusers"),
        "transformers": package_version("transformers"),
        "two_clocks": __version__,
        "git_commit": LOADED_COMMIT,
        "device": device_name,
        "platform": f"{platform.platform()} ({sys.implementation.name})",
        "threads": torch.get_num_threads(),
        "cpu": cpu.model,
        "cpu_vendor": cpu.vendor,
        "cpu_capability": cpu_capability(),
        "gpu": gpu,
    }


__all__ = ["ARM_IMPLEMENTERS", "LOADED_COMMIT", "PACKAGE_ROOT", "CpuIdentity", "cpu_capability", "cpu_identity", "cpu_model", "describe_environment", "git_commit", "package_version", "parse_cpuinfo"]

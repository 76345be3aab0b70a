"""The README's install size, measured: the user and the dev install, each in a fresh virtual environment.

    python tools/install_size.py                       # torch from the CPU index, as the README installs it
    python tools/install_size.py --torch-index ""      # torch from pip's configured index (a mirror, a wheel folder)

For each install it creates a virtual environment in a temporary folder (`python -m venv`), installs the CPU
build of torch, then this checkout (`-e ".[plot]"` for the user install, `-e ".[dev]"` for the dev install),
and adds up the disk blocks of its site-packages (as `du` does), torch's own files apart (its RECORD). It
prints one line per install and the README's sentence. Sizes are in GB (10^9 bytes). It downloads from the
package index and takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH = "torch==2.13.0"  # the build the README's numbers were measured with
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
INSTALLS = {"user": ".[plot]", "dev": ".[dev]"}


@dataclass(frozen=True)
class InstallSize:
    """Disk used by one fresh install: all of site-packages, and torch's share of it, in bytes."""

    name: str
    site_packages: int
    torch: int


def disk_usage(path: Path) -> int:
    """Bytes of disk blocks under `path`, each file counted once (hard links) and links not followed, as `du` counts."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(folder, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return total


def distribution_usage(site_packages: Path, distribution: str) -> int:
    """Bytes of disk blocks of the files one installed distribution lists in its RECORD."""
    (record,) = site_packages.glob(f"{distribution}-*.dist-info/RECORD")
    total = 0
    for line in record.read_text().splitlines():
        path = site_packages / line.split(",", 1)[0]
        if path.is_file() and not path.is_symlink():
            total += path.lstat().st_blocks * 512
    return total


def measure(name: str, extra: str, torch_index: str, scratch: Path) -> InstallSize:
    """Create a virtual environment, install torch and this checkout with `extra`, and measure its site-packages."""
    venv = scratch / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-cache-dir"]
    subprocess.run([*pip, TORCH, *(["--index-url", torch_index] if torch_index else [])], check=True)
    subprocess.run([*pip, "-e", extra], check=True, cwd=ROOT)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True)
    site_packages = Path(purelib.stdout.strip())
    return InstallSize(name, disk_usage(site_packages), distribution_usage(site_packages, "torch"))


def readme_sentence(sizes: dict[str, InstallSize]) -> str:
    """The README's figures: the user install, torch's share of it, and the dev install."""
    user, dev = sizes["user"], sizes["dev"]
    return f"in a fresh virtual environment it takes {user.site_packages / 1e9:.1f} GB, {user.torch / 1e9:.2f} GB of it torch (the dev install: {dev.site_packages / 1e9:.1f} GB)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-index", default=CPU_INDEX, help=f"index to install torch from (default {CPU_INDEX}; empty: pip's configured index)")
    parser.add_argument("--only", choices=sorted(INSTALLS), help="measure one install only")
    args = parser.parse_args()
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="two-clocks-install-") as scratch:
        for name, extra in INSTALLS.items():
            if args.only in (None, name):
                sizes[name] = measure(name, extra, args.torch_index, Path(scratch))
                print(f"{name} install ({extra}): site-packages {sizes[name].site_packages / 1e9:.2f} GB, torch {sizes[name].torch / 1e9:.2f} GB", flush=True)
        if len(sizes) == len(INSTALLS):  # before the clean-up, which takes a while for 3.6 GB
            print(f"README: {readme_sentence(sizes)}", flush=True)


if __name__ == "__main__":
    main()

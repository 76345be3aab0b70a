"""The record's `environment` names the machine: CPU model and vendor, the ISA torch dispatches to, threads."""

from __future__ import annotations

import shutil
import subprocess

import torch

from benchmark.run.environment import CpuIdentity, cpu_identity, describe_environment, parse_cpuinfo

X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu avx512f

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
"""
ARM64 = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1
"""


def test_cpuinfo_of_x86_64_and_arm64_names_vendor_and_model() -> None:
    assert parse_cpuinfo(X86) == CpuIdentity("AuthenticAMD", "AMD EPYC 9R14 96-Core Processor")
    assert parse_cpuinfo(ARM64) == CpuIdentity("ARM", "ARM part 0xd0c")  # lscpu decodes the part where it is installed
    assert parse_cpuinfo(ARM64.replace("0x41", "0xc0")).vendor == "Ampere"
    assert parse_cpuinfo("") == CpuIdentity(None, None)
    assert parse_cpuinfo("garbage without colons\n\x00\n: : :\n") == CpuIdentity(None, None)


def test_every_record_names_the_cpu_it_ran_on() -> None:
    environment = describe_environment(torch.device("cpu"))
    assert environment["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert environment["threads"] == torch.get_num_threads()
    assert environment["cpu"] == cpu_identity().model and environment["cpu_vendor"] == cpu_identity().vendor
    lscpu = shutil.which("lscpu")
    if lscpu:  # what the system's own tool says about this machine
        fields = dict(line.split(":", 1) for line in subprocess.run([lscpu], capture_output=True, text=True, env={"LC_ALL": "C"}).stdout.splitlines() if ":" in line)
        if "Vendor ID" in fields:
            assert environment["cpu_vendor"] in (fields["Vendor ID"].strip(), parse_cpuinfo(open("/proc/cpuinfo").read()).vendor)
        if "Model name" in fields:
            assert environment["cpu"] == fields["Model name"].strip()

"""The shared registry and config machinery: duplicates, did-you-mean, lazy entries, entry points, coercion."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass, field

import pytest

from benchmark.core.config import BaseConfig, ConfigError, build_config, describe_fields
from benchmark.core.registry import Registry, RegistryError


class Widget:
    pass


def test_duplicate_name_is_an_error():
    registry: Registry[type] = Registry("widget", "two_clocks.test_widgets")
    registry.register("w", Widget)
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("w", dict)


def test_unregister_forgets_a_name_and_refuses_unknown_ones():
    registry: Registry[type] = Registry("widget", "two_clocks.test_widgets")
    registry.register("w", Widget)
    registry.unregister("w")
    assert "w" not in registry
    registry.register("w", dict)  # the name is free again
    with pytest.raises(RegistryError, match="unknown widget 'x'"):
        registry.unregister("x")


def test_unknown_name_suggests_the_closest():
    registry: Registry[type] = Registry("widget", "two_clocks.test_widgets")
    registry.register("parity", Widget)
    with pytest.raises(RegistryError, match="did you mean 'parity'"):
        registry.get("party")


def test_lazy_entry_resolves_on_first_get_and_module_paths_work():
    registry: Registry[type] = Registry("widget", "two_clocks.test_widgets")
    registry.register("od", "collections:OrderedDict")
    from collections import OrderedDict

    assert registry.get("od") is OrderedDict
    assert registry.get("collections:Counter").__name__ == "Counter"
    with pytest.raises(RegistryError, match="not of the form"):
        registry.get("collections:")


def test_entry_points_are_discovered(tmp_path, monkeypatch):
    package = tmp_path / "plugin_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("class Thing:\n    pass\n")
    dist = tmp_path / "plugin_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent("""
        [two_clocks.test_widgets]
        thing = plugin_pkg:Thing
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[type] = Registry("widget", "two_clocks.test_widgets")
    assert "thing" in registry.names()
    assert registry.get("thing").__name__ == "Thing"
    sys.modules.pop("plugin_pkg", None)


@dataclass(frozen=True)
class ToyConfig(BaseConfig):
    depth: int = field(default=4, metadata={"help": "layers"})
    lr: float = 1e-3
    ema: bool = True
    name: str = "toy"


def test_build_config_coerces_strings_and_rejects_unknown_knobs():
    config = build_config(ToyConfig, {"depth": "6", "lr": "3e-4", "ema": "false"})
    assert (config.depth, config.lr, config.ema) == (6, 3e-4, False)
    with pytest.raises(ConfigError, match="unknown knob 'dpeth'.*did you mean 'depth'.*allowed: depth, lr, ema, name"):
        build_config(ToyConfig, {"dpeth": 3})
    with pytest.raises(ConfigError, match="ToyConfig.depth must be an integer, got 'six'"):
        build_config(ToyConfig, {"depth": "six"})
    with pytest.raises(ConfigError, match="ToyConfig.ema must be true or false"):
        build_config(ToyConfig, {"ema": 3})


def test_describe_fields_lists_defaults_and_help():
    rows = {row["name"]: row for row in describe_fields(ToyConfig)}
    assert rows["depth"]["default"] == 4 and rows["depth"]["help"] == "layers"
    assert rows["lr"]["default"] == 1e-3


def test_did_you_mean_ignores_case():
    with pytest.raises(ConfigError, match="did you mean 'depth'"):
        build_config(ToyConfig, {"DEPTH": 3})


def test_an_entry_point_that_reuses_a_taken_name_is_an_error(tmp_path, monkeypatch):
    package = tmp_path / "shadow_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("class Parity:\n    pass\n")
    dist = tmp_path / "shadow_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[two_clocks.test_shadow]\nparity = shadow_pkg:Parity\nsame = collections:OrderedDict\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[type] = Registry("widget", "two_clocks.test_shadow")
    registry.register("parity", "tasks.parity:ParityTask")
    registry.register("same", "collections:OrderedDict")  # the very same target: not a conflict
    with pytest.raises(RegistryError, match=r"package 'shadow-pkg' registers widget 'parity' = 'shadow_pkg:Parity', but that name is taken by tasks.parity:ParityTask: rename"):
        registry.names()


def test_canonical_name_is_the_registered_name_of_the_class():
    registry: Registry[type] = Registry("widget", "two_clocks.test_widgets")

    class Named:
        pass

    class Unnamed(Named):  # inherits registered_name, but is not what the name means
        pass

    registry.register("named", Named)
    assert registry.canonical_name("named") == "named"
    assert registry.canonical_name("collections:OrderedDict") == "collections:OrderedDict"
    sys.modules[__name__]._Unnamed = Unnamed
    Unnamed.__qualname__ = "_Unnamed"
    try:
        assert registry.canonical_name(f"{__name__}:_Unnamed") == f"{__name__}:_Unnamed"
    finally:
        delattr(sys.modules[__name__], "_Unnamed")

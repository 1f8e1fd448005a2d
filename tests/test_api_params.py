"""Every public parameter of the Python API is checked as the command line checks its flags: a wrong type or
an out-of-range value is a one-line ``UserError`` naming the parameter as the API spells it, before any work
(issue 22.13). One table: each function, each parameter."""

from __future__ import annotations

import inspect
from dataclasses import fields, replace
from pathlib import Path

import pytest

from weirdkinetics import api, params
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import Manifest
from weirdkinetics.results import RunResults
from weirdkinetics.study import StudyModel, StudySettings, run_study

_RUN = RunResults("r", "tiny_c3d", [], ["a"])
_MANIFEST = Manifest(Path("m.csv"), [], ["path", "label"], "0")

# a valid value of each required parameter (checks run in signature order, so earlier ones must pass)
VALID = {
    "manifest_path": "m.csv",
    "out_dir": "o",
    "models": ["tiny_c3d"],
    "model": "tiny_c3d",
    "variant": "swap",
    "source": "s.sqlite",
    "store_path": "s.sqlite",
    "manifest": _MANIFEST,
    "run_id": None,
    "out": "x.csv",
    "runs": [_RUN],
    "run": _RUN,
    "qualitative": None,
}


def _public_functions() -> list:
    return [
        f
        for name, f in vars(api).items()
        if inspect.isfunction(f) and name in api.__all__  # api re-exports each command module's functions
    ]


def test_every_public_api_function_checks_every_parameter():
    """A new public function or parameter without a check fails here (and ``params.checked`` refuses a
    parameter without one when the module loads)."""
    unchecked = [f.__name__ for f in _public_functions() if not hasattr(f, "checks")]
    assert unchecked == ["check_batch_size"]  # itself a check, of its only parameter


def test_every_checked_command_function_is_in_the_api():
    """A command module's public function (one with parameter checks) that ``api`` does not re-export would
    be missing from the Python API and from the checks above."""
    import importlib
    import pkgutil

    from weirdkinetics import commands

    checked = {
        name
        for info in pkgutil.iter_modules(commands.__path__)
        for name, f in vars(importlib.import_module(f"{commands.__name__}.{info.name}")).items()
        if inspect.isfunction(f) and hasattr(f, "checks") and not name.startswith("_")
    }
    assert checked and checked <= set(api.__all__), sorted(checked - set(api.__all__))


class _Strange:
    """A value no parameter takes: not a string, path, number, bool, list or function."""

    def __repr__(self) -> str:
        return "<strange>"


def _cases():
    for f in _public_functions():
        if not hasattr(f, "checks"):
            continue
        for name in inspect.signature(f).parameters:
            yield pytest.param(f, name, id=f"{f.__name__}-{name}")


def _required(f) -> dict:
    sig = inspect.signature(f)
    return {n: VALID[n] for n, p in sig.parameters.items() if p.default is inspect.Parameter.empty}


@pytest.mark.parametrize("f, name", list(_cases()))
def test_a_wrong_type_names_the_parameter_in_one_line(f, name):
    with pytest.raises(UserError) as info:
        f(**{**_required(f), name: _Strange()})
    message = str(info.value)
    assert message.startswith(f"{name}=<strange>: must be ") and "\n" not in message


# (function, parameter, value, what the message says): the CLI's ranges, through the API
RANGES = [
    (api.synthesize, "seed", -1, "from 0 to 4294967295"),
    (api.synthesize, "seed", 2**64, "from 0 to 4294967295"),
    (api.synthesize, "seed", 1.5, "whole number"),
    (api.synthesize, "seed", True, "whole number"),
    (api.make_report, "seed", -1, "from 0 to 4294967295"),
    (api.report_runs, "n_boot", 0, "from 1 to"),
    (api.evaluate, "batch_size", 0, "from 1 to 1024"),
    (api.evaluate, "batch_size", 1025, "from 1 to 1024"),
    (api.evaluate, "crops", 2, "must be 1 or 3"),
    (api.evaluate, "crops", 3.0, "must be 1 or 3"),
    (api.evaluate, "decode_workers", 65, "from 1 to 64"),
    (api.evaluate, "actors", 0, "from 1 to"),
    (api.evaluate, "progress", 1, "True or False"),
    (api.explain, "batch_size", 2048, "from 1 to 1024"),
    (api.explain, "batch_size", None, "whole number"),
    (api.evaluate, "models", [3], "list of strings"),
    (api.load_results, "run_ids", ["a", 1], "list of strings"),
    (api.export_csv, "out", b"x.csv", "path"),
]


@pytest.mark.parametrize(
    "f, name, value, says", RANGES, ids=[f"{c[0].__name__}-{c[1]}-{c[2]!r}" for c in RANGES]
)
def test_out_of_range_values_are_refused_as_the_cli_refuses_them(f, name, value, says):
    with pytest.raises(UserError, match=f"^{name}=") as info:
        f(**{**_required(f), name: value})
    assert says in str(info.value) and "\n" not in str(info.value)


def test_the_api_and_the_cli_share_their_ranges():
    from weirdkinetics import cli

    assert cli.MAX_SEED == params.MAX_SEED == 2**32 - 1 and cli.MAX_SIDE == params.MAX_SIDE
    assert api.MAX_BATCH_SIZE == params.MAX_BATCH_SIZE


def test_one_model_name_as_a_string_is_a_one_model_list(tmp_path):
    """``models='tiny_c3d'`` is the model tiny_c3d, not the models 't', 'i', 'n', ... (documented choice)."""
    with pytest.raises(UserError) as info:
        api.evaluate(tmp_path / "none.csv", "tiny_c3d", tmp_path / "o", weights="random:0", progress=False)
    assert "no such file" in str(info.value) and "Unknown model" not in str(info.value)
    checks = api.evaluate.checks
    assert checks["classes"]("classes", Path("c.txt")) == "c.txt"
    assert checks["models"]("models", "tiny_c3d") == ["tiny_c3d"]
    assert checks["weights"]("weights", Path("w.pt")) == ["w.pt"]


_SETTINGS = StudySettings(Path("m.csv"), (StudyModel("tiny_c3d"),), Path("o"))


@pytest.mark.parametrize("name", [f.name for f in fields(StudySettings)])
def test_run_study_checks_every_setting(name):
    with pytest.raises(UserError) as info:
        run_study(replace(_SETTINGS, **{name: _Strange()}), progress=False)
    assert str(info.value).startswith(f"{name}=<strange>: must be ")


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("seed", -1, "from 0 to"),
        ("seed", 2**64, "from 0 to"),
        ("n_boot", 0, "from 1 to"),
        ("explain_per_class", 0, "from 1 to"),
    ],
)
def test_run_study_refuses_out_of_range_settings(name, value, says):
    with pytest.raises(UserError, match=f"^{name}=.*{says}"):
        run_study(replace(_SETTINGS, **{name: value}), progress=False)


def test_run_study_reads_one_variant_as_one():
    from weirdkinetics.study import checked_settings

    assert checked_settings(replace(_SETTINGS, variants="swap", explain="gradcam")).variants == ("swap",)


@pytest.mark.parametrize("name", [f.name for f in fields(StudyModel)])
def test_run_study_checks_every_field_of_each_model(name):
    bad = replace(_SETTINGS.models[0], **{name: _Strange()})
    with pytest.raises(UserError, match=f"^models.{name}=<strange>: must be "):
        run_study(replace(_SETTINGS, models=(bad,)), progress=False)

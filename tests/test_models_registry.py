"""The models room's seams: plain-data cards, a registry that resolves adapters lazily and loudly, keyword-only
cards, weights I/O on its own, and no import of the demo."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from weirdkinetics.errors import UnknownNameError
from weirdkinetics.models import registry
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.cards import CARDS, KINETICS_MEAN, KINETICS_STD


def test_card_modules_are_plain_data():
    assert isinstance(CARDS, tuple) and all(isinstance(c, ModelCard) for c in CARDS)
    assert len({c.name for c in CARDS}) == len(CARDS)
    assert {c.name for c in CARDS} <= {c.name for c in registry.all_cards()}


def test_cards_take_keywords_only():
    with pytest.raises(TypeError):
        ModelCard(
            "x", "testing", "tiny_c3d", "kinetics400", 30, 8, 8, 16, 64, 64, KINETICS_MEAN, KINETICS_STD
        )


def test_an_adapter_that_fails_to_import_fails_with_its_own_error(monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, "broken", "weirdkinetics.models.no_such_module:Adapter")
    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        registry.get_adapter("broken")


def test_unknown_zoos_and_models_suggest_close_names():
    with pytest.raises(UnknownNameError, match="Did you mean: pytorchvideo"):
        registry.get_adapter("pytorchvidoe")
    with pytest.raises(UnknownNameError, match="Did you mean: x3d_m"):
        registry.get_card("x3d-M")


def test_a_card_of_your_own_registers_once(monkeypatch):
    monkeypatch.setattr(registry, "_user_cards", [])
    monkeypatch.setattr(registry, "_cards", None)
    tiny = registry.get_card("tiny_c3d")
    from dataclasses import replace

    mine = registry.register(replace(tiny, name="my_tiny"))
    assert registry.get_card("my_tiny") is mine
    with pytest.raises(ValueError, match="already registered"):
        registry.register(replace(tiny, name="my_tiny"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(replace(tiny, name="i3d_r50"))


def test_the_models_room_does_not_import_the_demo_or_optional_zoos():
    code = (
        "import sys; from weirdkinetics.models import all_cards, get_card; "
        "from weirdkinetics.models.loading import load_model; all_cards(); "
        "load_model(get_card('demo_c3d'), 'random:0'); "
        "print(sorted(m for m in sys.modules if m.startswith(('weirdkinetics.demo', 'transformers', "
        "'weirdkinetics.models.hf_zoo'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_hf_weights_without_a_snapshot_folder_are_digested_from_their_tensors():
    pytest.importorskip("transformers")
    from weirdkinetics.models.hf_zoo import state_digest

    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    assert state_digest(a) == state_digest(b)
    with torch.no_grad():
        b.weight[0, 0] += 1
    assert state_digest(a) != state_digest(b)

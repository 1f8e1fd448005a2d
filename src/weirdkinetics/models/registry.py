"""Registry of model cards and zoo adapters.

Cards are plain data: each card module holds a ``CARDS`` tuple, and the registry reads the modules named in
``CARD_MODULES`` the first time a card is asked for. Adapters are named as ``"module:attr"`` and imported only
when a card of their zoo is loaded, so an optional zoo costs nothing until used, and an adapter that fails to
import fails with its own error (never a misleading "no adapter"). Unknown names suggest close ones and list
what exists; registering a name twice is an error.
"""

from __future__ import annotations

import importlib
from typing import Any

from weirdkinetics.errors import UnknownNameError, did_you_mean
from weirdkinetics.models.card import ModelCard

CARD_MODULES = ("weirdkinetics.models.cards:CARDS", "weirdkinetics.models.cards_testing:CARDS")
"""Where the built-in cards are (``"module:attr"`` of a tuple of ``ModelCard``)."""

ADAPTERS: dict[str, str] = {
    "pytorchvideo": "weirdkinetics.models.pytorchvideo_zoo:PyTorchVideoAdapter",
    "torchvision": "weirdkinetics.models.torchvision_zoo:TorchvisionAdapter",
    "hf": "weirdkinetics.models.hf_zoo:HuggingFaceAdapter",
    "deepmind": "weirdkinetics.models.deepmind_zoo:DeepMindAdapter",
    "testing": "weirdkinetics.models.testing:TestingAdapter",
}
"""Zoo -> its adapter class as ``"module:attr"`` (instantiated once, on first use)."""

_cards: dict[str, ModelCard] | None = None
_user_cards: list[ModelCard] = []
_adapters: dict[str, Any] = {}


def resolve(ref: str) -> Any:
    """The object named by ``"package.module:attr"`` (imported now; import errors propagate)."""
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise ValueError(f"'{ref}' is not a 'module:attr' reference")
    return getattr(importlib.import_module(module), attr)


def _add(cards: dict[str, ModelCard], card: ModelCard) -> None:
    if card.name in cards:
        raise ValueError(f"model card '{card.name}' is already registered")
    cards[card.name] = card


def _registry() -> dict[str, ModelCard]:
    global _cards
    if _cards is None:
        cards: dict[str, ModelCard] = {}
        for ref in CARD_MODULES:
            for card in resolve(ref):
                _add(cards, card)
        for card in _user_cards:
            _add(cards, card)
        _cards = cards
    return _cards


def register(card: ModelCard) -> ModelCard:
    """Add a card of your own (a model of a known zoo); its name must be new."""
    if _cards is not None:
        _add(_cards, card)
    elif any(c.name == card.name for c in _user_cards):
        raise ValueError(f"model card '{card.name}' is already registered")
    _user_cards.append(card)
    return card


def get_card(name: str) -> ModelCard:
    cards = _registry()
    if name not in cards:
        raise UnknownNameError(
            f"Unknown model '{name}'.{did_you_mean(name, cards)} Known models: {', '.join(sorted(cards))}"
        )
    return cards[name]


def all_cards() -> list[ModelCard]:
    cards = _registry()
    return [cards[k] for k in sorted(cards)]


def register_adapter(zoo: str, adapter: str | Any) -> None:
    """Add a zoo: its adapter as ``"module:attr"`` (a class, imported on first use) or an adapter object."""
    if zoo in ADAPTERS or zoo in _adapters:
        raise ValueError(f"adapter for zoo '{zoo}' is already registered")
    if isinstance(adapter, str):
        ADAPTERS[zoo] = adapter
    else:
        _adapters[zoo] = adapter


def get_adapter(zoo: str) -> Any:
    """The adapter of ``zoo`` (one instance per zoo)."""
    if zoo not in _adapters:
        if zoo not in ADAPTERS:
            raise UnknownNameError(
                f"Unknown zoo '{zoo}'.{did_you_mean(zoo, ADAPTERS)} Known zoos: {', '.join(sorted(ADAPTERS))}"
            )
        _adapters[zoo] = resolve(ADAPTERS[zoo])()
    return _adapters[zoo]

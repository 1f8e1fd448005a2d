"""Registry of model cards. Unknown names suggest close ones and list what exists; duplicates are errors."""

from __future__ import annotations

from weirdkinetics.errors import UnknownNameError, did_you_mean
from weirdkinetics.models.card import ModelCard

_CARDS: dict[str, ModelCard] = {}


def register(card: ModelCard) -> ModelCard:
    if card.name in _CARDS:
        raise ValueError(f"model card '{card.name}' is already registered")
    _CARDS[card.name] = card
    return card


def get_card(name: str) -> ModelCard:
    _load_builtin_cards()
    if name not in _CARDS:
        raise UnknownNameError(
            f"Unknown model '{name}'.{did_you_mean(name, _CARDS)} Known models: {', '.join(sorted(_CARDS))}"
        )
    return _CARDS[name]


def all_cards() -> list[ModelCard]:
    _load_builtin_cards()
    return [_CARDS[k] for k in sorted(_CARDS)]


_loaded = False


def _load_builtin_cards() -> None:
    """Import the modules that register built-in cards (once; cheap: cards are plain data)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from weirdkinetics.models import cards, cards_testing  # noqa: F401  (register on import)

"""Model cards, the registry, and one adapter per zoo."""

from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.registry import all_cards, get_card, register

__all__ = ["ModelCard", "all_cards", "get_card", "register"]

"""A run's identity: what changes a model's scores, and nothing else (a shared leaf).

A run is one (model, weights, sampling spec, precision) combination; its id keys every stored prediction, so
resuming reuses exactly the rows whose scores would come out the same. Only fields that change the scores enter
it: a card's architecture and input protocol (``ModelCard.identity``), the weights digest, the sampling spec,
a non-default precision, the prompt set of an open-vocabulary model. A card's prose (description, note, licence,
the accuracy its authors report) does not: rewording a card must not orphan its stored runs.

``legacy_run_id`` is the formula of stores written before schema 3 (the whole card dict); the store uses it
once, to re-key those runs (``store._migrate_v2``).
"""

from __future__ import annotations

import hashlib
import json

PROSE_FIELDS = (
    "description",
    "note",
    "licence",
    "family",
    "extra",
    "reported_top1",
    "reported_top5",
    "reported_protocol",
    "weights_url",
    "weights_sha256",
)
"""Card fields that describe a model without changing its scores (the weights' own digest enters the id
instead of the published URL and hash)."""

PRECISIONS = ("fp32", "bf16", "fp16")


def canonical_json(obj) -> str:
    """Compact, deterministic JSON (sorted keys), the form every digest is taken of."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def card_identity(card_dict: dict) -> dict:
    """The score-relevant part of a card's ``to_dict()``."""
    return {k: v for k, v in card_dict.items() if k not in PROSE_FIELDS}


def _digest(ident: dict) -> str:
    return hashlib.sha256(canonical_json(ident).encode()).hexdigest()[:16]


def _ident(card: dict, weights_digest: str, spec_key: str, precision: str, classes: list[str] | None) -> dict:
    ident = {"card": card, "weights": weights_digest, "spec": spec_key}
    if precision != "fp32":  # fp32 is the default: fp32 runs keep their ids when precision was added
        ident["precision"] = precision
    if card.get("open_vocabulary"):  # scores depend on the prompt set
        ident["classes"] = list(classes or [])
    return ident


def run_id(
    card_dict: dict,
    weights_digest: str,
    spec_key: str,
    precision: str = "fp32",
    classes: list[str] | None = None,
) -> str:
    """16 hex digits naming a run. card_dict: ``ModelCard.to_dict()`` (its prose is left out here)."""
    return _digest(_ident(card_identity(card_dict), weights_digest, spec_key, precision, classes))


def legacy_run_id(
    card_dict: dict,
    weights_digest: str,
    spec_key: str,
    precision: str = "fp32",
    classes: list[str] | None = None,
) -> str:
    """The id a store before schema 3 gave the same run: the whole card, prose included."""
    return _digest(_ident(card_dict, weights_digest, spec_key, precision, classes))

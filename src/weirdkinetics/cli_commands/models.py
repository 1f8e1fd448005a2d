"""``weirdkinetics models``: the model cards as a table or JSON."""

from __future__ import annotations

import json

from weirdkinetics.cli_commands.options import add_command


def cmd_models(a) -> int:
    from weirdkinetics.models.cards import describe_cards

    cards = describe_cards()
    if a.json:
        print(json.dumps(cards, indent=2))
        return 0
    rows = [("name", "zoo", "family", "protocol", "top-1", "extra")]
    for c in cards:
        top1 = f"{c['top1']:.2f}" if c["top1"] is not None else "-"
        rows.append((c["name"], c["zoo"], c["family"] or "-", c["protocol"], top1, c["extra"] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    notes = [(c["name"], c["note"]) for c in cards if c["note"]]
    if notes:
        print("\nnotes:")
        for name, note in notes:
            print(f"  {name}: {note}")
    return 0


def add_parser(sub) -> None:
    """``models``'s arguments."""

    ms = add_command(
        sub,
        "models",
        "List model cards with their input protocol and reported accuracy.",
        "weirdkinetics models --json",
    )
    ms.add_argument("--json", action="store_true", help="every card's protocol and numbers as JSON")
    ms.set_defaults(func=cmd_models)

"""Class and background names of the demo's generated dataset (plain data). The classes are the ``demo`` label
space, which lives with the other label spaces in ``labels``."""

from weirdkinetics.labels import DEMO_CLASSES

__all__ = ["DEMO_BACKGROUNDS", "DEMO_CLASSES"]

DEMO_BACKGROUNDS: dict[str, str] = {
    "jumping": "beach",
    "waving": "forest",
    "spinning": "court",
    "walking": "kitchen",
    "squatting": "snow",
}
"""Each class's own ('real') background."""

"""Class and background names of the demo's generated dataset (plain data; imported by the label registry)."""

DEMO_CLASSES: tuple[str, ...] = ("jumping", "waving", "spinning", "walking", "squatting")
"""Motions of the rendered actor; the motion alone defines the class."""

DEMO_BACKGROUNDS: dict[str, str] = {
    "jumping": "beach",
    "waving": "forest",
    "spinning": "court",
    "walking": "kitchen",
    "squatting": "snow",
}
"""Each class's own ('real') background."""

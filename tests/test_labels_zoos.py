"""Every zoo's Kinetics-400 spelling maps onto one canonical list (torchvision's), by explicit rules.

Zoo lists that cannot be read offline (PyTorchVideo's kinetics_classnames.json, Hugging Face id2label) are
rebuilt here from their documented conventions and from spellings seen verbatim in public code.
"""

from __future__ import annotations

import pytest

from weirdkinetics.errors import UserError
from weirdkinetics.labels import (
    is_generic_labels,
    label_order,
    label_space,
    map_zoo_labels,
    normalize_name,
    resolve_label,
)

K400 = label_space("kinetics400")


def test_canonical_list_is_torchvisions_400_classes():
    from torchvision.models.video import R3D_18_Weights

    assert K400 == tuple(R3D_18_Weights.KINETICS400_V1.meta["categories"])
    assert len(K400) == len(set(K400)) == 400


def test_normalised_keys_tell_all_400_classes_apart():
    # the rules drop punctuation and case: they must not merge two classes
    # (e.g. "skiing (not slalom or crosscountry)" vs "skiing slalom", "passing American football (in game)")
    keys = [normalize_name(c) for c in K400]
    assert len(set(keys)) == 400


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ('"bench pressing"', "bench pressing"),  # rule 1: PyTorchVideo's json quotes multi-word names
        ("  'deadlifting' ", "deadlifting"),
        ("Passing American Football (in game)", "passing american football in game"),  # rule 2: case
        ("massaging persons head", "massaging persons head"),  # rule 3: apostrophe inside a word
        ("massaging person's head", "massaging persons head"),
        ("massaging person\u2019s head", "massaging persons head"),
        ("passing_American_football_(not_in_game)", "passing american football not in game"),  # rule 4
        ("hurling_-sport-", "hurling sport"),  # Kinetics tarball folder name
        ("passing American football( not in game )", "passing american football not in game"),  # rule 5
        ("tying  knot   (not on a tie)", "tying knot not on a tie"),
    ],
)
def test_each_normalisation_rule(spelling, key):
    assert normalize_name(spelling) == key


# Each zoo's convention, as a function of the canonical name.
ZOO_SPELLINGS = {
    # PyTorchVideo / PySlowFast kinetics_classnames.json keys: CSV-quoted when the name has a space
    "pytorchvideo_json": lambda c: f'"{c}"' if " " in c else c,
    # MMAction2 rename_classnames.sh and most Kinetics folder layouts: spaces -> underscores
    "folder_underscores": lambda c: c.replace(" ", "_"),
    # Kinetics tarball folders: parentheses -> hyphens as well ("hurling_-sport-")
    "tarball_folders": lambda c: c.replace(" ", "_").replace("(", "-").replace(")", "-"),
    # lists that lower-case everything ("passing american football (in game)")
    "lowercase": lambda c: c.lower(),
    # lists that drop apostrophes ("massaging persons head") and title-case
    "titlecase_no_apostrophe": lambda c: c.replace("'", "").title(),
    # Hugging Face id2label: believed identical to torchvision's (not readable offline); kept as a case
    "hf_id2label": lambda c: c,
}


@pytest.mark.parametrize("zoo", sorted(ZOO_SPELLINGS))
def test_every_zoo_spelling_maps_all_400_classes_in_order(zoo):
    spelled = [ZOO_SPELLINGS[zoo](c) for c in K400]
    assert map_zoo_labels(spelled) == list(K400)
    assert label_order(spelled) is None


def test_spellings_seen_verbatim_in_public_lists():
    seen = {
        '"passing American football (not in game)"': "passing American football (not in game)",
        "passing_American_football_(in_game)": "passing American football (in game)",
        "skiing_-not_slalom_or_crosscountry-": "skiing (not slalom or crosscountry)",
        "petting_animal_(not_cat)": "petting animal (not cat)",
        "dyeing hair": "dying hair",  # Kinetics-600/700 corrected the K400 spelling: an explicit alias
        "Dyeing_Hair": "dying hair",
    }
    for spelling, canonical in seen.items():
        assert resolve_label(spelling, K400) == canonical


def test_near_misses_do_not_map():
    assert resolve_label("skiing", K400) is None
    assert resolve_label("passing American football", K400) is None
    assert resolve_label("dyeing hair", ("braiding hair",)) is None  # an alias needs its target in the list


def test_a_permuted_zoo_list_gives_the_reordering():
    reordered = list(reversed(K400))
    order = label_order([c.upper() for c in reordered])
    assert order is not None
    # logits[:, order] puts the zoo's outputs into canonical order
    assert [reordered[i] for i in order] == list(K400)


def test_unknown_and_duplicate_names_are_all_reported():
    names = list(K400)
    names[3] = "applying lipstick"  # not a Kinetics-400 class
    names[7] = "Air_Drumming"  # second spelling of class 1
    with pytest.raises(UserError) as err:
        map_zoo_labels(names)
    message = str(err.value)
    assert "'applying lipstick'" in message
    assert "'air drumming' and 'Air_Drumming' both map to 'air drumming'" in message


def test_an_incomplete_list_names_what_is_missing():
    with pytest.raises(UserError, match="399 class names .* missing: zumba"):
        label_order(list(K400[:-1]))


def test_generic_label_names_take_the_label_spaces_order():
    # google/vivit-b-16x2-kinetics400's config.json names its outputs LABEL_0..LABEL_399; transformers' ViViT
    # example prints LABEL_116 for its "eating spaghetti" video: class 116 of torchvision's alphabetical list
    from torchvision.models.video import R3D_18_Weights

    assert R3D_18_Weights.KINETICS400_V1.meta["categories"][116] == "eating spaghetti" == K400[116]
    assert is_generic_labels([f"LABEL_{i}" for i in range(400)])
    assert label_order([f"LABEL_{i}" for i in range(400)]) is None  # output i is class i


@pytest.mark.parametrize(
    "names",
    [
        [f"LABEL_{i}" for i in range(1, 401)],  # not from 0
        [f"LABEL_{i}" for i in reversed(range(400))],  # not in index order
        [f"label_{i}" for i in range(400)],
        ["LABEL_0"] + list(K400[1:]),  # one generic name among real ones
    ],
)
def test_only_placeholders_in_index_order_are_generic(names):
    assert not is_generic_labels(names)
    with pytest.raises(UserError):
        label_order(names)


def test_generic_names_of_another_size_say_what_to_do():
    with pytest.raises(
        UserError, match=r"LABEL_0..LABEL_599 give 600 outputs, but label space 'kinetics400' has 400"
    ):
        label_order([f"LABEL_{i}" for i in range(600)])

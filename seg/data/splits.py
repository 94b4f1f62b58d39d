"""Cityscapes cities and the 18/3 city folds used by the paper (fold 0 is the official split)."""
from __future__ import annotations

from seg.utils.errors import BadValueError

TRAIN_CITIES = (
    "aachen",
    "bochum",
    "bremen",
    "cologne",
    "darmstadt",
    "dusseldorf",
    "erfurt",
    "hamburg",
    "hanover",
    "jena",
    "krefeld",
    "monchengladbach",
    "strasbourg",
    "stuttgart",
    "tubingen",
    "ulm",
    "weimar",
    "zurich",
)
VAL_CITIES = ("frankfurt", "lindau", "munster")
TEST_CITIES = ("berlin", "bielefeld", "bonn", "leverkusen", "mainz", "munich")
TRAIN_EXTRA_CITIES = (
    "augsburg",
    "bad-honnef",
    "bamberg",
    "bayreuth",
    "dortmund",
    "dresden",
    "duisburg",
    "erlangen",
    "freiburg",
    "heidelberg",
    "heilbronn",
    "karlsruhe",
    "konigswinter",
    "konstanz",
    "mannheim",
    "muhlheim-ruhr",
    "nuremberg",
    "oberhausen",
    "saarbrucken",
    "schweinfurt",
    "troisdorf",
    "wuppertal",
    "wurzburg",
)
CITIES = {
    "train": TRAIN_CITIES,
    "val": VAL_CITIES,
    "test": TEST_CITIES,
    "train_extra": TRAIN_EXTRA_CITIES,
}

NUM_FOLDS = 3
FOLD_VAL_SIZE = 3
FOLD_STRIDE = 7


def fold_cities(fold: int = 0) -> dict[str, tuple[str, ...]]:
    """Return {"train": 18 cities, "val": 3 cities} of a fold.

    All 21 annotated cities are ordered val-cities-sorted then train-cities-sorted, and fold k
    validates on the 3 cities starting at index 7k, so fold 0 is the official split.
    """
    if fold not in range(NUM_FOLDS):
        raise BadValueError(f"fold must be one of {list(range(NUM_FOLDS))}, got {fold!r}")
    ordered = sorted(VAL_CITIES) + sorted(TRAIN_CITIES)
    start = FOLD_STRIDE * fold
    val = tuple(ordered[start:start + FOLD_VAL_SIZE])
    train = tuple(city for city in ordered if city not in val)
    return {"train": train, "val": val}


def original_split(city: str) -> str:
    """Return the directory ("train", "val", "test" or "train_extra") a city's files live in."""
    for split, cities in CITIES.items():
        if city in cities:
            return split
    raise BadValueError(f"{city!r} is not a Cityscapes city")

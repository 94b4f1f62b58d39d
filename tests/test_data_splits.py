"""The default split and the additional 18/3 city folds."""
import pytest

from seg.data.splits import CITIES, fold_cities


def test_fold_0_is_the_official_split():
    folds = fold_cities(0)
    assert folds["val"] == ("frankfurt", "lindau", "munster")
    assert sorted(folds["train"]) == sorted(CITIES["train"])
    assert fold_cities() == folds


@pytest.mark.parametrize("fold, val", [
    (1, ("darmstadt", "dusseldorf", "erfurt")),
    (2, ("monchengladbach", "strasbourg", "stuttgart")),
])
def test_additional_folds(fold, val):
    folds = fold_cities(fold)
    assert folds["val"] == val
    assert len(folds["train"]) == 18
    assert set(folds["train"]) | set(val) == set(CITIES["train"]) | set(CITIES["val"])
    assert not set(folds["train"]) & set(val)


def test_city_counts():
    assert [len(CITIES[s]) for s in ("train", "val", "test", "train_extra")] == [18, 3, 6, 23]


def test_bad_fold():
    with pytest.raises(ValueError, match="fold"):
        fold_cities(3)

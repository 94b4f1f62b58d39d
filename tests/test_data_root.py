"""Data root resolution: argument, then $CITYSCAPES_DATASET, then <repo>/datasets/cityscapes."""
from pathlib import Path

from seg.data.root import resolve_data_root

REPO = Path(__file__).resolve().parents[1]


def test_argument_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("CITYSCAPES_DATASET", "/elsewhere")
    assert resolve_data_root(tmp_path) == tmp_path.resolve()


def test_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("CITYSCAPES_DATASET", str(tmp_path))
    assert resolve_data_root() == tmp_path.resolve()


def test_default_is_relative_to_the_repository_not_the_cwd(monkeypatch, tmp_path):
    monkeypatch.delenv("CITYSCAPES_DATASET", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_root() == REPO / "datasets" / "cityscapes"

"""Per-run numbers and the paper's tables 2/3 from known log files, checked against hand values and
the paper."""
import json
import math
import statistics

import pytest

from seg.classification.aggregate import aggregate, aggregate_tables, spread, to_markdown
from seg.classification.runs import epoch_accuracies, read_run

# Paper table 2, rows vgg16BN_* (5 runs each) with the printed average, diff and stdev.
PAPER_TABLE2 = {
    "zeros": ([73.986, 73.826, 73.610, 73.778, 73.204], 73.681, None, 0.244),
    "partial": ([74.154, 74.072, 73.790, 73.898, 74.072], 73.997, 0.316, 0.121),
    "reflect": ([73.404, 73.670, 73.364, 73.428, 73.416], 73.456, -0.225, 0.122),
    "replicate": ([73.638, 73.580, 73.816, 74.012, 73.734], 73.756, 0.075, 0.169),
}


def write_run(root, name, *, model, padding, seed, top1_per_epoch, per_epoch=10, extra_records=()):
    """Writes a run folder as tools/train_classifier.py does: run.json and log.jsonl."""
    run = root / name
    run.mkdir()
    config = {
        "model": {"name": model, "num_classes": 1000, "padding": padding},
        "train": {"seed": seed},
    }
    (run / "run.json").write_text(json.dumps({"config": config, "iterations_per_epoch": per_epoch}))
    records = []
    for epoch, top1 in enumerate(top1_per_epoch, start=1):
        records.append({"iteration": epoch * per_epoch - 5, "train/loss": 1.0, "train/lr": 0.1})
        records.append({"iteration": epoch * per_epoch, "val/top1": top1, "val/top5": top1 + 10})
    records += list(extra_records)
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return run


def paper_runs(values_by_padding, model="vgg16_bn"):
    return [
        {
            "name": f"{model}_{padding}_seed{i}",
            "model": model,
            "padding": padding,
            "seed": i,
            "best_top1": value,
            "last5_top1": value - 0.05,
        }
        for padding, (values, *_rest) in values_by_padding.items()
        for i, value in enumerate(values, 1)
    ]


def test_read_run_best_and_last5_mean(tmp_path):
    top1 = [10.0, 30.0, 50.0, 70.0, 66.0, 64.0, 68.0, 62.0]
    run = write_run(
        tmp_path, "r50_zeros_seed1", model="resnet50", padding="zeros", seed=1, top1_per_epoch=top1
    )
    summary = read_run(run)
    assert summary["best_top1"] == 70.0
    assert summary["last5_top1"] == pytest.approx((70 + 66 + 64 + 68 + 62) / 5)  # 66.0 by hand
    assert [e["epoch"] for e in summary["epochs"]] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert summary["epochs"][2]["top5"] == 60.0
    assert (summary["model"], summary["padding"], summary["seed"]) == ("resnet50", "zeros", 1)


def test_resumed_run_counts_a_revalidated_epoch_once(tmp_path):
    # validated at iteration 20, killed, resumed from last.pth at 10: epoch 2 is validated again
    again = {"iteration": 20, "val/top1": 42.0, "val/top5": 90.0}
    run = write_run(
        tmp_path,
        "r",
        model="resnet50",
        padding="zeros",
        seed=1,
        top1_per_epoch=[10.0, 99.0, 30.0],
        extra_records=[again],
    )
    summary = read_run(run)
    assert [e["top1"] for e in summary["epochs"]] == [10.0, 42.0, 30.0]
    assert summary["best_top1"] == 42.0


def test_epoch_accuracies_fewer_than_five_epochs_average_what_exists():
    records = [{"iteration": 4, "val/top1": 20.0}, {"iteration": 8, "val/top1": 40.0}]
    assert [e["epoch"] for e in epoch_accuracies(records, 4)] == [1.0, 2.0]


def test_read_run_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="run.json"):
        read_run(tmp_path)


def test_aggregate_reproduces_paper_table2_average_and_diff():
    table = aggregate(paper_runs(PAPER_TABLE2), "best")
    rows = {r["padding"]: r for r in table["rows"]}
    assert [r["padding"] for r in table["rows"]] == ["zeros", "partial", "reflect", "replicate"]
    for padding, (values, average, diff, _stdev) in PAPER_TABLE2.items():
        assert rows[padding]["runs"] == values
        assert rows[padding]["average"] == pytest.approx(average, abs=5e-4)
        assert rows[padding]["diff"] == (None if diff is None else pytest.approx(diff, abs=1e-3))
    assert table["columns"] == ["1_best", "2_best", "3_best", "4_best", "5_best"]


def test_stdev_is_the_sample_one_and_the_papers_table_mixes_two_formulas():
    for padding, (values, _average, _diff, printed) in PAPER_TABLE2.items():
        sample = spread(values, "sample")
        assert sample == pytest.approx(statistics.stdev(values))
        assert spread(values, "population") == pytest.approx(statistics.pstdev(values))
        if padding in ("reflect", "replicate"):  # these rows print the sample stdev
            assert round(sample, 3) == pytest.approx(printed, abs=1e-3)
        else:  # these print a population stdev over six cells: the 5 runs and their average
            squares = sum((v - statistics.fmean(values)) ** 2 for v in values)
            assert round(math.sqrt(squares / 6), 3) == pytest.approx(printed, abs=1e-3)
            assert abs(sample - printed) > 0.02


def test_aggregate_from_run_folders_by_hand(tmp_path):
    specs = {  # (padding, seed): per-epoch top-1
        # best 70, last5 (60+70+65+61+63)/5 = 63.8
        ("zeros", 1): [50.0, 60.0, 70.0, 65.0, 61.0, 63.0],
        ("zeros", 2): [52.0, 58.0, 62.0, 64.0, 66.0, 68.0],  # best 68, last5 63.6
        ("partial", 2): [55.0, 65.0, 75.0, 71.0, 72.0, 73.0],  # best 75, last5 71.2
        ("partial", 1): [50.0, 60.0, 70.0, 72.0, 74.0, 76.0],  # best 76, last5 70.4
    }
    runs = [
        read_run(
            write_run(
                tmp_path,
                f"resnet18_{p}_seed{s}",
                model="resnet18",
                padding=p,
                seed=s,
                top1_per_epoch=v,
            )
        )
        for (p, s), v in specs.items()
    ]
    tables = aggregate_tables(runs)
    best = {r["padding"]: r for r in tables["best"]["rows"]}
    last = {r["padding"]: r for r in tables["last5_avg"]["rows"]}
    assert best["partial"]["runs"] == [76.0, 75.0]  # ordered by seed, not by folder order
    assert best["zeros"]["average"] == pytest.approx(69.0)
    assert best["partial"]["diff"] == pytest.approx(75.5 - 69.0)
    # (70-69)^2 + (68-69)^2 over n - 1 = 1
    assert best["zeros"]["stdev"] == pytest.approx(math.sqrt(2.0))
    assert last["zeros"]["average"] == pytest.approx(63.7)
    assert last["partial"]["diff"] == pytest.approx(70.8 - 63.7)
    assert last["partial"]["stdev"] == pytest.approx(math.sqrt(2 * 0.4 ** 2))
    text = to_markdown(tables["best"])
    assert "| resnet18_zeros | 70.000 | 68.000 | 69.000 | - | 1.414 |" in text
    assert "| resnet18_partial | 76.000 | 75.000 | 75.500 | 6.500 | 0.707 |" in text


def test_architectures_without_zero_row_have_no_diff():
    runs = paper_runs({"partial": ([1.0, 3.0],)}, model="resnet101") + paper_runs(PAPER_TABLE2)
    table = aggregate(runs, "last5_avg")
    assert [r["network"] for r in table["rows"]][:4] == [
        "vgg16_bn_zeros",
        "vgg16_bn_partial",
        "vgg16_bn_reflect",
        "vgg16_bn_replicate",
    ]
    resnet = table["rows"][-1]
    assert resnet["network"] == "resnet101_partial" and resnet["diff"] is None
    assert resnet["runs"] == [0.95, 2.95]


def test_aggregate_cli_writes_markdown_and_json(tmp_path, capsys):
    import importlib.util

    from seg.config import REPO_ROOT

    spec = importlib.util.spec_from_file_location(
        "aggregate_runs", REPO_ROOT / "tools" / "aggregate_runs.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    runs = [
        write_run(
            tmp_path,
            f"vgg16_bn_{p}_seed{i}",
            model="vgg16_bn",
            padding=p,
            seed=i,
            top1_per_epoch=[v],
        )
        for p, (values, *_rest) in PAPER_TABLE2.items()
        for i, v in enumerate(values, 1)
    ]
    out = tmp_path / "tables.json"
    assert tool.main([str(r) for r in runs] + ["--json", str(out)]) == 0
    tables = json.loads(out.read_text())
    zero, partial = tables["best"]["rows"][:2]
    assert partial["diff"] == pytest.approx(0.316, abs=1e-3)
    assert tables["last5_avg"]["rows"][0]["runs"] == zero["runs"]  # one epoch: last-5 mean = best
    printed = capsys.readouterr().out
    assert (
        "| vgg16_bn_partial | 74.154 | 74.072 | 73.790 | 73.898 | 74.072 | 73.997 | 0.316 | 0.149 |"
        in printed
    )

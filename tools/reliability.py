"""Replay, on a tiny synthetic Cityscapes, what a careful user does wrong; print how each case ends.

    python tools/reliability.py [--work DIR] [--cases NAME ...] [--list] [--details] [--json OUT]

Each case runs the real tools in this process (as `python tools/X.py ...` would, through run_cli)
and is judged on three things: a case that must be refused ends with exit code 2 and one `error:`
line naming the file or value (no traceback); a case whose input must take effect does; and no
file of an earlier run is changed or lost, nor a checkpoint with NaN or inf written. The last line
is the figure docs/reliability.md quotes: cases tried, cases with a clear error, data lost.
"""

import argparse
import contextlib
import dataclasses
import hashlib
import importlib.util
import io
import json
import math
import os
import pathlib
import shutil
import sys
import tempfile
import time

import cv2
import torch

from seg.data.synthetic import make_synthetic
from seg.data.validate import check_data
from seg.engine.checkpoint import nonfinite_entries
from seg.engine.logging import read_jsonl
from seg.utils.errors import run_cli

REPO = pathlib.Path(__file__).resolve().parent.parent

RECIPE = str(REPO / "configs" / "deeplabv3plus_small_os8_{}_synthetic.yaml")
TINY = ["train.iterations=4", "train.batch_size=2", "data.crop_size=64", "data.num_workers=0",
        "eval.max_images=1", "eval.every=2", "train.log_every=1", "train.checkpoint_every=2"]


@dataclasses.dataclass
class Outcome:
    """How a case ended: refused clearly or taking effect (`ok`), and what was lost."""

    case: str
    expected: str  # "error" | "applied"
    ok: bool
    lost: list
    detail: str


class Workspace:
    """Tiny data, two short trained runs (zero, partial) and the tools, shared by the cases."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.data = root / "data"
        if not (self.data / "leftImg8bit").is_dir():
            make_synthetic(self.data, train=6, val=3, extra=2, size=(64, 128), seed=0)
        self.runs = root / "runs"
        self.tools = {}
        for padding in ("zero", "partial"):
            if not (self.runs / padding / "last.pth").is_file():
                code, out, err = self.cli("train", self.train_args(padding, padding))
                assert code == 0, err[-2000:]

    def tool(self, name):
        if name not in self.tools:
            path = REPO / "tools" / f"{name}.py"
            spec = importlib.util.spec_from_file_location(f"reliability_{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self.tools[name] = module
        return self.tools[name]

    def cli(self, name, argv):
        """Returns (exit code, stdout, stderr) of tools/<name>.py argv; an escaped exception is
        a traceback."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = run_cli(self.tool(name).main, [str(a) for a in argv])
            except SystemExit as exit_:  # argparse
                code = exit_.code
            except Exception as error:  # a bug, or a user error that is not a UserError
                err.write(f"Traceback (most recent call last):\n  ...\n"
                          f"{type(error).__name__}: {error}\n")
                code = 1
        return code, out.getvalue(), err.getvalue()

    def train_args(self, padding, run_name, *extra, data=None):
        return [RECIPE.format(padding), f"data.root={data or self.data}", f"output_dir={self.runs}",
                f"run_name={run_name}", *TINY, *extra]

    def copy_data(self, name):
        target = self.root / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.data, target, ignore=shutil.ignore_patterns(".cache"))
        return target


def snapshot(folder) -> dict:
    """Returns {relative path: sha256} of every file under `folder`."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def changed(before: dict, after: dict) -> list:
    """Returns the files of `before` that are gone or different in `after`."""
    return [name for name, digest in before.items() if after.get(name) != digest]


def nonfinite_checkpoints(folder) -> list:
    """Returns the .pth files under `folder` holding NaN or inf weights."""
    bad = []
    for path in pathlib.Path(folder).rglob("*.pth"):
        state = torch.load(path, map_location="cpu", weights_only=True)
        if nonfinite_entries(state.get("model", {})):
            bad.append(str(path))
    return bad


def clear_error(code, err, *needles) -> tuple:
    """Returns (ok, detail): exit code 2, no traceback, an `error:` message naming every needle."""
    message = err[err.rfind("error: ") :] if "error: " in err else ""
    missing = [n for n in needles if str(n) not in message]
    ok = code == 2 and "Traceback" not in err and message != "" and not missing
    lines = message.splitlines() if message else (err.strip().splitlines()[-1:] or ["(no output)"])
    detail = " ".join(line.strip() for line in lines[:2])
    detail += f" [missing: {missing}]" if missing else ""
    return ok, detail + ("" if code == 2 else f" [exit {code}]")


def refused(ws, case, tool, argv, *needles, watch=None):
    """A case that must end in a clear error and leave `watch` (default: all runs) unchanged."""
    watch = watch or ws.runs
    before = snapshot(watch)
    code, out, err = ws.cli(tool, argv)
    ok, detail = clear_error(code, err, *needles)
    return Outcome(case, "error", ok, changed(before, snapshot(watch)), detail)


class Evil:
    """Unpickling this calls os.system: what a malicious .pth does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


# ------------------------------------------------------------------------------------ cases


def train(ws, run, *extra, data=None):
    """Returns (exit code, stdout, stderr) of tools/train.py: the partial recipe into run `run`."""
    return ws.cli("train", ws.train_args("partial", run, *extra, data=data))


def on_data(ws, *argv):
    """Returns tools/evaluate.py arguments on the workspace's data."""
    return [*argv, "--data-root", ws.data, "--no-progress"]


def case_malicious_checkpoint(ws):
    marker, evil = ws.root / "pwned_checkpoint", ws.root / "evil.pth"
    torch.save({"model": Evil(marker), "config": {}}, evil)
    outcome = refused(ws, "malicious pickle as --checkpoint", "evaluate",
                      on_data(ws, "--checkpoint", evil), evil, "refused")
    outcome.ok = outcome.ok and not marker.exists()
    return outcome


def case_malicious_pretrained(ws):
    marker, evil = ws.root / "pwned_backbone", ws.root / "evil_backbone.pth"
    torch.save({"state_dict": Evil(marker)}, evil)
    outcome = refused(ws, "malicious pickle as model.pretrained_backbone", "train",
                      ws.train_args("partial", "evil", f"model.pretrained_backbone={evil}"),
                      "model.pretrained_backbone", "refused")
    outcome.ok = outcome.ok and not marker.exists()
    return outcome


def case_own_checkpoint_is_plain(ws):
    state = torch.load(ws.runs / "partial" / "last.pth", map_location="cpu", weights_only=True)
    keys = {"model", "optimizer", "scheduler", "rng", "config"}
    ok = keys <= set(state) and state["iteration"] == 4
    return Outcome("own checkpoint loads with weights_only=True", "applied", ok, [],
                   f"keys {sorted(state)[:4]}..., iteration {state['iteration']}")


def case_rerun_same_name(ws):
    return refused(ws, "fresh start into a folder holding a run", "train",
                   ws.train_args("partial", "partial", "train.iterations=2"), ws.runs / "partial",
                   "train.resume=auto", "run_name", "train.overwrite=true")


def case_overwrite_flag(ws):
    train(ws, "replaced")
    (ws.runs / "replaced" / "last_eval.json").write_text("{}")
    code, out, err = train(ws, "replaced", "train.iterations=2", "train.overwrite=true")
    log = read_jsonl(ws.runs / "replaced" / "log.jsonl")
    iterations = [r["iteration"] for r in log if "train/loss" in r]
    ok = code == 0 and iterations == [1, 2]
    ok = ok and not (ws.runs / "replaced" / "last_eval.json").exists()
    return Outcome("train.overwrite=true replaces the whole earlier run", "applied", ok, [],
                   f"exit {code}, logged iterations {iterations}")


def case_resume_new_lr(ws):
    train(ws, "lr")
    code, out, err = train(ws, "lr", "train.resume=auto", "train.iterations=6", "train.lr=0.001",
                           "train.momentum=0.5")
    log = read_jsonl(ws.runs / "lr" / "log.jsonl")
    lrs = {r["iteration"]: r["train/lr"] for r in log if "train/lr" in r}
    state = torch.load(ws.runs / "lr" / "last.pth", weights_only=True)
    group = state["optimizer"]["param_groups"][0]
    # the poly schedule of the new values: lr after step i is 0.001 * (1 - i / 6)
    ok = code == 0 and all(math.isclose(lrs[i], 0.001 * (1 - i / 6), abs_tol=1e-12) for i in (5, 6))
    ok = ok and group["initial_lr"] == 0.001 and group["momentum"] == 0.5
    ok = ok and "train.lr: 0.08 -> 0.001" in out
    return Outcome("resume with a new train.lr/momentum/iterations", "applied", ok, [],
                   f"exit {code}, lr at 5, 6: {[lrs.get(i) for i in (5, 6)]}, "
                   f"momentum {group['momentum']}")


def case_resume_other_padding(ws):
    zero = ws.runs / "zero" / "last.pth"
    return refused(ws, "resume a zero checkpoint into a partial run", "train",
                   ws.train_args("partial", "cross", f"train.resume={zero}"),
                   "model.padding='zeros'", "'partial'", "train.allow_padding_change=true")


def case_resume_other_padding_allowed(ws):
    zero = ws.runs / "zero" / "last.pth"
    code, out, err = train(ws, "cross_ok", f"train.resume={zero}", "train.iterations=6",
                           "train.allow_padding_change=true")
    config = torch.load(ws.runs / "cross_ok" / "last.pth", weights_only=True)["config"]
    ok = code == 0 and config["model"]["padding"] == "partial"
    return Outcome("the same with train.allow_padding_change=true", "applied", ok, [],
                   f"exit {code}")


def case_resume_other_architecture(ws):
    partial = ws.runs / "partial" / "last.pth"
    return refused(ws, "resume into another model.name", "train",
                   ws.train_args("partial", "arch", f"train.resume={partial}",
                                 "model.name=deeplabv3plus_resnet50"),
                   "model.name='deeplabv3plus_small'", "'deeplabv3plus_resnet50'")


def case_resume_other_class_count(ws):
    partial = ws.runs / "partial" / "last.pth"
    return refused(ws, "resume into another model.num_classes", "train",
                   ws.train_args("partial", "classes", f"train.resume={partial}",
                                 "model.num_classes=7"),
                   "model.num_classes=19", "model.num_classes=7")


def case_diverging_lr(ws):
    outcome = refused(ws, "train.lr=1e6 (non-finite loss or weights)", "train",
                      ws.train_args("partial", "diverge", "train.lr=1e6",
                                    "train.checkpoint_every=1", "eval.every=1"),
                      "train.lr", "last good state")
    outcome.lost += nonfinite_checkpoints(ws.runs / "diverge")
    return outcome


def case_evaluate_nonfinite(ws):
    state = torch.load(ws.runs / "partial" / "last.pth", weights_only=True)
    key = next(k for k in state["model"] if k.endswith("running_var"))
    state["model"][key][0] = float("inf")
    bad = ws.root / "inf_running_var.pth"
    torch.save(state, bad)
    return refused(ws, "evaluate a checkpoint with inf BatchNorm statistics", "evaluate",
                   on_data(ws, "--checkpoint", bad), bad, key)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def case_val_label_unknown_id(ws):
    data = ws.copy_data("data_bad_id")
    label = sorted((data / "gtFine" / "val").rglob("*_gtFine_labelIds.png"))[0]
    array = cv2.imread(str(label), cv2.IMREAD_UNCHANGED)
    array[0, 0] = 200
    cv2.imwrite(str(label), array)
    outcome = refused(ws, "val label with an unknown id", "train",
                      ws.train_args("partial", "bad_id", data=data), label.name, "[200]")
    outcome.ok = outcome.ok and not (ws.runs / "bad_id" / "last.pth").exists()
    return outcome


def case_truncated_val_image(ws):
    data = ws.copy_data("data_truncated")
    image = sorted((data / "leftImg8bit" / "val").rglob("*.png"))[1]
    _truncate(image)
    return refused(ws, "truncated val image", "train",
                   ws.train_args("partial", "truncated", data=data), image.name)


def case_every_bad_file_at_once(ws):
    data = ws.copy_data("data_two_bad")
    image = sorted((data / "leftImg8bit" / "val").rglob("*.png"))[1]
    coarse = sorted((data / "gtCoarse" / "train_extra").rglob("*_labelIds.png"))[0]
    _truncate(image)
    _truncate(coarse)
    return refused(ws, "two bad files (val image, coarse label) in one message", "train",
                   ws.train_args("partial", "two_bad", data=data), image.name, coarse.name,
                   "2 problem(s)")


def case_data_check_cached(ws):
    start = time.perf_counter()
    checked = check_data(ws.data, progress=False)
    seconds = time.perf_counter() - start
    return Outcome("second start skips the data check (cached by file list)", "applied",
                   checked == 0, [], f"{checked} files decoded again, {seconds * 1000:.0f} ms")


def case_empty_city_folder(ws):
    data = ws.copy_data("data_empty_city")
    city = sorted(p for p in (data / "leftImg8bit" / "train").iterdir() if p.is_dir())[0]
    for image in city.glob("*.png"):
        image.unlink()
    return refused(ws, "empty city folder", "train",
                   ws.train_args("partial", "empty_city", data=data), city.name,
                   "city folder without any")


def bad_value(key, value, allowed):
    def case(ws):
        return refused(ws, f"{key}={value}", "train",
                       ws.train_args("partial", "bad_value", f"{key}={value}"), f"'{key}'", allowed)

    case.__name__ = f"case_{key}_{value}"
    return case


def case_corrupt_class_cache(ws):
    data = ws.copy_data("data_cache")
    train(ws, "cache_first", "train.iterations=1", data=data)
    for cache in (data / ".cache").glob("class_uniform_*.json"):
        cache.write_text(cache.read_text()[:50])
    code, out, err = train(ws, "cache_second", "train.iterations=1", data=data)
    return Outcome("corrupt class-uniform cache is rebuilt", "applied",
                   code == 0 and "unreadable" in out, [], f"exit {code}")


def case_truncated_checkpoint(ws):
    bad = ws.root / "truncated.pth"
    bad.write_bytes((ws.runs / "partial" / "last.pth").read_bytes()[:5000])
    return refused(ws, "truncated checkpoint", "evaluate", on_data(ws, "--checkpoint", bad), bad,
                   "truncated")


def case_truncated_prediction(ws):
    dump = ws.root / "dump"
    ws.cli("evaluate", on_data(ws, "--checkpoint", ws.runs / "partial" / "last.pth",
                               "--dump-predictions", dump))
    png = sorted(dump.rglob("*.png"))[0]
    _truncate(png)
    return refused(ws, "truncated prediction PNG", "evaluate",
                   on_data(ws, "--predictions", png.parent.parent), png.name)


def case_evaluate_writes_where_asked(ws):
    run = ws.runs / "partial"
    before = snapshot(run)
    out = ws.root / "results" / "partial.json"
    code, stdout, err = ws.cli("evaluate", on_data(ws, "--checkpoint", run / "last.pth",
                                                   "--json", out))
    ok = code == 0 and out.is_file() and out.with_suffix(".md").is_file()
    after = snapshot(run)
    return Outcome("evaluate writes only to --json (and its .md)", "applied", ok,
                   changed(before, after) + sorted(set(after) - set(before)), f"exit {code}")


def case_evaluate_unwritable_output(ws):
    blocker = ws.root / "a_file"
    blocker.write_text("")
    return refused(ws, "--json in a folder that cannot be made", "evaluate",
                   on_data(ws, "--checkpoint", ws.runs / "partial" / "last.pth",
                           "--json", blocker / "out.json"), blocker)


def case_render_other_architecture(ws):
    state = torch.load(ws.runs / "zero" / "last.pth", weights_only=True)
    other = ws.root / "zero_16.pth"
    state["config"]["model"]["output_stride"] = 16
    torch.save(state, other)
    return refused(ws, "render compare of two architectures", "render",
                   ["compare", "--checkpoints", other, ws.runs / "partial" / "last.pth",
                    "--data-root", ws.data, "--out", ws.root / "render"],
                   "model.output_stride=16", "model.output_stride=8")


def case_stale_temporary(ws):
    train(ws, "stale")
    stale = ws.runs / "stale" / ".last.pth.tmp99999"
    stale.write_bytes(b"half a checkpoint")
    code, out, err = train(ws, "stale", "train.resume=auto", "train.iterations=5")
    ok = code == 0 and not stale.exists() and (ws.runs / "stale" / "config.yaml").is_file()
    return Outcome("stale temporary checkpoint removed on the next start; config.yaml written",
                   "applied", ok, [], f"exit {code}")


CASES = [
    case_malicious_checkpoint, case_malicious_pretrained, case_own_checkpoint_is_plain,
    case_rerun_same_name, case_overwrite_flag, case_resume_new_lr, case_resume_other_padding,
    case_resume_other_padding_allowed, case_resume_other_architecture,
    case_resume_other_class_count, case_diverging_lr, case_evaluate_nonfinite,
    case_val_label_unknown_id, case_truncated_val_image, case_every_bad_file_at_once,
    case_data_check_cached, case_empty_city_folder,
    bad_value("train.iterations", 0, ">= 1"), bad_value("train.batch_size", -1, ">= 1"),
    bad_value("train.log_every", 0, ">= 1"), bad_value("train.checkpoint_every", 0, ">= 1"),
    bad_value("eval.every", -5, ">= 0"), bad_value("model.num_classes", 0, ">= 1"),
    bad_value("data.scale_range", "[2.0,0.5]", "lo <= hi"),
    case_corrupt_class_cache, case_truncated_checkpoint, case_truncated_prediction,
    case_evaluate_writes_where_asked, case_evaluate_unwritable_output,
    case_render_other_architecture, case_stale_temporary,
]


def case_name(case) -> str:
    return case.__name__[len("case_") :]


def run_cases(work, names=None) -> list:
    """Returns the Outcome of every case (or of those named), in order, replayed under `work`."""
    torch.set_num_threads(1)
    ws = Workspace(pathlib.Path(work))
    outcomes = [case(ws) for case in CASES if not names or case_name(case) in names]
    for o in outcomes:  # the same table whichever folder it ran in
        o.detail = o.detail.replace(str(work), "<work>").replace(str(REPO), "<repo>")
    return outcomes


def table(outcomes, *, details: bool = False) -> str:
    """Returns the Markdown table of the outcomes (with what each printed if `details`) and the
    summary line."""
    extra = " what happened |" if details else ""
    lines = [
        f"| case | expected | handled | data lost |{extra}",
        "| --- | --- | --- | --- |" + (" --- |" if details else ""),
    ]
    for o in outcomes:
        detail = f" {o.detail.replace('|', '/')[:160]} |" if details else ""
        lines.append(
            f"| {o.case} | {'clear error' if o.expected == 'error' else 'takes effect'} | "
            f"{'yes' if o.ok else 'NO'} | {len(o.lost)} |{detail}"
        )
    errors = [o for o in outcomes if o.expected == "error"]
    lines.append("")
    lines.append(
        f"cases tried: {len(outcomes)}; cases with a clear error: {sum(o.ok for o in errors)} of "
        f"{len(errors)} that must be refused; input taking effect: "
        f"{sum(o.ok for o in outcomes if o.expected != 'error')} of {len(outcomes) - len(errors)}; "
        f"data lost: {sum(len(o.lost) for o in outcomes)} files"
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work", help="folder for the data and runs (default: a temporary folder, removed)"
    )
    parser.add_argument("--cases", nargs="+", help="replay only these cases")
    parser.add_argument("--list", action="store_true", help="print the case names and stop")
    parser.add_argument(
        "--details", action="store_true", help="add the start of what each case printed"
    )
    parser.add_argument("--json", help="also write the outcomes here")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(case_name(c) for c in CASES))
        return 0
    with contextlib.ExitStack() as stack:
        work = args.work or stack.enter_context(tempfile.TemporaryDirectory(prefix="reliability_"))
        outcomes = run_cases(work, args.cases)
    print(table(outcomes, details=args.details))
    if args.json:
        pathlib.Path(args.json).write_text(
            json.dumps([dataclasses.asdict(o) for o in outcomes], indent=2)
        )
    return 0 if all(o.ok and not o.lost for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(run_cli(main))

"""A grid of ordinary training runs (seeds x paddings of one config), evaluated and compared.

Each run is `tools/train.py CONFIG model.padding=P train.seed=S output_dir=OUT run_name=P_seedS
train.resume=auto`, so a finished run is skipped, an interrupted one continues from its last.pth,
and any run can be redone by hand with the command the sweep prints. The same list of commands
goes to one of three executors, all used the same way (`submit(fn, *args).result()`):

- "local": a thread pool running `jobs` commands at once on this machine, one OpenMP thread each;
- "slurm": submitit's AutoExecutor, one SLURM job per command, each a torchrun of `nproc` processes
  (one per GPU);
- "submitit-local": submitit's LocalExecutor, the SLURM path as local processes (to test it).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from seg.config import REPO_ROOT, ConfigError, load_config, repo_path
from seg.engine.checkpoint import load_checkpoint, resolve_resume
from seg.evaluation.comparison import Group, compare, read_stats, save_comparison
from seg.evaluation.comparison_report import comparison_markdown
from seg.utils.errors import UserError
from seg.utils.files import write_text_atomic

EXECUTORS = ("local", "slurm", "submitit-local")


@dataclass
class SweepRun:
    """One cell of the grid."""

    padding: str
    seed: int
    run_dir: Path
    iterations: int  # what the config asks for, to tell a finished run from an interrupted one
    data_root: Path
    overrides: list[str] = field(
        default_factory=list
    )  # everything tools/train.py gets after the config

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / "last.pth"


def plan_runs(config, seeds, paddings, overrides, out) -> list[SweepRun]:
    """Return the grid seed by seed (a seed's paddings side by side), every override checked."""
    if len(set(paddings)) != len(paddings) or len(set(seeds)) != len(seeds):
        raise UserError(
            f"--paddings {' '.join(paddings)} / --seeds {' '.join(map(str, seeds))}: repeated value"
        )
    runs = []
    for seed in seeds:
        for padding in paddings:
            name = f"{padding}_seed{seed}"
            cell = [
                *overrides,
                f"model.padding={padding}",
                f"train.seed={seed}",
                f"output_dir={out}",
                f"run_name={name}",
                "train.resume=auto",
            ]
            try:
                cfg = load_config(config, cell)
            except ConfigError as err:
                raise UserError(str(err)) from None
            runs.append(
                SweepRun(
                    padding,
                    seed,
                    cfg.run_dir(),
                    cfg.train.iterations,
                    repo_path(cfg.data.root or "datasets/cityscapes"),
                    cell,
                )
            )
    return runs


def trained_iterations(run: SweepRun) -> int:
    """Return the iteration train.resume=auto would continue from (0: a new run)."""
    resume = resolve_resume("auto", run.run_dir)
    return 0 if resume is None else int(load_checkpoint(resume)["iteration"])


def evaluation_current(run: SweepRun) -> bool:
    """Return whether last_eval.{json,npz} exist and are newer than last.pth."""
    files = [run.run_dir / "last_eval.json", run.run_dir / "last_eval.npz"]
    if not run.checkpoint.is_file() or not all(f.is_file() for f in files):
        return False
    return min(f.stat().st_mtime for f in files) >= run.checkpoint.stat().st_mtime


def train_command(config, run: SweepRun, nproc: int) -> list[str]:
    """Return a run's training command: tools/train.py, under a torchrun of `nproc` if > 0."""
    script = [str(REPO_ROOT / "tools" / "train.py"), str(config), *run.overrides]
    if nproc > 0:
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            *script,
        ]
    return [sys.executable, *script]


def eval_command(run: SweepRun, eval_args: list[str], device: str) -> list[str]:
    """Return the evaluation command of a run's last.pth (writes last_eval.{json,md,npz} beside)."""
    return [
        sys.executable,
        str(REPO_ROOT / "tools" / "evaluate.py"),
        "--checkpoint",
        str(run.checkpoint),
        "--data-root",
        str(run.data_root),
        "--device",
        device,
        "--no-progress",
        "--out",
        str(run.run_dir),
        *eval_args,
    ]


def run_command(command: list[str], log: str, env: dict) -> float:
    """Return the seconds `command` took, its output in `log`; raise naming the log if it fails.

    A module-level function, so submitit can pickle it into a job.
    """
    start = time.perf_counter()
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(f"$ {shlex.join(command)}\n")
        out.flush()
        done = subprocess.run(
            command, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        tail = "".join(Path(log).read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(
            f"exit code {done.returncode}: {shlex.join(command)}\n--- end of {log} ---\n{tail}"
        )
    return time.perf_counter() - start


def make_executor(
    kind: str,
    folder: Path,
    *,
    jobs: int = 1,
    nproc: int = 0,
    partition: str | None = None,
    timeout_min: int = 24 * 60,
    cpus_per_task: int = 8,
):
    """Return an executor: submit(fn, *args) -> a job whose .result() waits (see the module doc)."""
    if kind == "local":
        return concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    import submitit  # the optional `sweep` extra; only these two executors need it

    if kind == "slurm":
        executor = submitit.AutoExecutor(folder=folder)
        executor.update_parameters(
            timeout_min=timeout_min,
            nodes=1,
            tasks_per_node=1,
            gpus_per_node=nproc,
            cpus_per_task=cpus_per_task,
            slurm_partition=partition,
        )
    elif kind == "submitit-local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=timeout_min)
    else:
        raise UserError(f"--executor {kind}: use one of {', '.join(EXECUTORS)}")
    return executor


def execute(executor, tasks, say=print) -> dict:
    """Return {name: seconds} after running every (name, command, log, env) task; failures raise."""
    jobs = {
        name: executor.submit(run_command, command, log, env) for name, command, log, env in tasks
    }
    seconds, failed = {}, []
    for name, job in jobs.items():
        try:
            seconds[name] = job.result()
            say(f"  {name}: done in {seconds[name]:.0f} s")
        except (
            Exception
        ) as err:  # a run's failure is reported with its log, the others still finish
            failed.append(f"{name}: {err}")
    if failed:
        raise UserError(
            "some runs failed (fix the cause and run the sweep again: finished runs are kept):\n"
            + "\n".join(failed)
        )
    return seconds


def _tasks(runs, commands, logs, env):
    return [
        (run.name, command, str(logs / f"{run.name}_{kind}.log"), env)
        for run, (kind, command) in zip(runs, commands)
    ]


def compare_paddings(runs, paddings, out: Path, *, resamples=2000, seed=0, say=print) -> list[dict]:
    """Return each padding's comparison with the first, saved as out/comparison[_<b>].{json,md}."""
    results = []
    groups = {
        p: Group(
            p,
            [f"seed {r.seed}" for r in runs if r.padding == p],
            [read_stats(r.run_dir / "last_eval.npz")[0][1] for r in runs if r.padding == p],
        )
        for p in paddings
    }
    for other in paddings[1:]:
        result = compare(groups[paddings[0]], groups[other], resamples=resamples, seed=seed)
        stem = out / ("comparison" if len(paddings) == 2 else f"comparison_{other}")
        text = comparison_markdown(result)
        save_comparison(result, stem.with_suffix(".json"))
        stem.with_suffix(".md").write_text(text)
        say(text)
        say(f"saved {stem}.json and {stem}.md")
        results.append(result)
    return results


def run_sweep(
    config,
    *,
    seeds,
    paddings,
    overrides=(),
    out=None,
    executor="local",
    jobs=1,
    nproc=0,
    partition=None,
    timeout_min=24 * 60,
    eval_args=(),
    eval_device=None,
    resamples=2000,
    say=print,
) -> dict:
    """Return {"runs", "trained", "evaluated", "seconds", "comparisons"} with the grid up to date.

    Train what is missing or interrupted, evaluate what is newer than its evaluation, then compare
    each padding with the first. A grid with nothing to do is left alone; its saved comparison is
    printed.
    """
    if len(paddings) < 2:
        raise UserError(
            f"--paddings {' '.join(paddings)}: a comparison needs two paddings, e.g. zeros partial"
        )
    out = repo_path(out or f"checkpoints/sweeps/{Path(config).stem}")
    runs = plan_runs(config, seeds, paddings, list(overrides), out)
    eval_args = list(eval_args)
    state_path = out / "sweep.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    done = {run.name: trained_iterations(run) for run in runs}
    to_train = [r for r in runs if done[r.name] < r.iterations]
    same_eval = state.get("eval_args") == eval_args
    to_eval = [r for r in runs if r in to_train or not same_eval or not evaluation_current(r)]
    summary = {
        "runs": [r.name for r in runs],
        "trained": [r.name for r in to_train],
        "evaluated": [r.name for r in to_eval],
        "seconds": {},
    }
    saved = (
        [out / "comparison.md"]
        if len(paddings) == 2
        else [out / f"comparison_{p}.md" for p in paddings[1:]]
    )
    if not to_train and not to_eval and all(p.is_file() for p in saved):
        say(
            f"all {len(runs)} runs under {out} are trained and evaluated; nothing to do. The "
            f"saved comparison:"
        )
        for path in saved:
            say(path.read_text())
        summary["comparisons"] = []
        return summary
    pool = make_executor(
        executor,
        out / "submitit",
        jobs=jobs,
        nproc=nproc,
        partition=partition,
        timeout_min=timeout_min,
    )
    # One OpenMP thread per run when several share this machine's cores.
    env = {"OMP_NUM_THREADS": "1"} if executor != "slurm" and jobs > 1 else {}
    logs = out / "logs"
    if to_train:
        say(
            f"training {len(to_train)} of {len(runs)} runs, "
            f"{jobs if executor == 'local' else 'all'} at once "
            f"(output in {logs}/):"
        )
        for run in to_train:
            what = f"resumes at iteration {done[run.name]}" if done[run.name] else "new"
            say(f"  {run.name} ({what}): {shlex.join(train_command(config, run, nproc))}")
        seconds = execute(
            pool,
            _tasks(
                to_train, [("train", train_command(config, r, nproc)) for r in to_train], logs, env
            ),
            say,
        )
        summary["seconds"].update({f"train {k}": v for k, v in seconds.items()})
    if to_eval:
        device = eval_device or ("cuda" if executor == "slurm" else "cpu")
        say(f"evaluating {len(to_eval)} runs: tools/evaluate.py {shlex.join(eval_args)}")
        seconds = execute(
            pool,
            _tasks(
                to_eval, [("eval", eval_command(r, eval_args, device)) for r in to_eval], logs, env
            ),
            say,
        )
        summary["seconds"].update({f"evaluate {k}": v for k, v in seconds.items()})
        write_text_atomic(
            state_path, json.dumps({"config": str(config), "eval_args": eval_args}, indent=1) + "\n"
        )
    if isinstance(pool, concurrent.futures.Executor):
        pool.shutdown()
    summary["comparisons"] = compare_paddings(
        runs, list(paddings), out, resamples=resamples, say=say
    )
    return summary

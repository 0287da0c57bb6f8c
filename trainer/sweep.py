"""`corpus sweep`: hyperparameter search with Optuna over the trainer's config keys.

A search space is a YAML mapping of TrainConfig keys, each a range or a list of choices:

    lr: {low: 1.0e-4, high: 3.0e-2, log: true}
    warmup_steps: {low: 0, high: 100, step: 10}
    optimizer: {choices: [adamw, muon]}

Every trial trains one model with the base config plus the trial's values and the same token budget, in its own
run folder (OUT/trials/trial-NNNN, loadable by `corpus evaluate` and `corpus generate`). The objective is the
validation bits per byte at the end of the budget (lower is better; bits per byte, not loss, so a sweep over
anything that changes the tokens per byte stays fair). Each evaluation during training is reported to Optuna;
the pruner (median, or successive halving) stops hopeless trials through the trainer's on_eval callback
(StopTraining), and they are recorded as pruned. A trial whose loss becomes NaN or infinite is pruned too.

The study lives in a storage: SQLite in OUT/study.db by default, so running the same command again continues
it; `--trials N` is the number of finished (complete or pruned) trials the study should reach, so a rerun after
an interruption does the rest and a rerun with a larger N adds trials. Any Optuna RDB URL
(postgresql://, mysql://) lets several machines work on one study. `--jobs J` runs J worker processes, each
taking trials from the shared storage. `grid` enumerates every combination in the order the space file lists
them (ranges need a step), so a grid sweep is the same every time.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import multiprocessing
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

from corpus.errors import InputError, OutputError
from corpus.files import write_atomic
from trainer.experiment_report import fmt_duration, write_json

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "halving", "none")
DEFAULT_STUDY = "sweep"
# trials that must finish before the median pruner judges others (Optuna's default is 5, meant for long
# studies; a proxy sweep of a dozen trials would prune almost nothing)
MEDIAN_STARTUP_TRIALS = 2
HEARTBEAT_S = 60  # a trial whose process died is failed after 2 heartbeats without news, and redone


@dataclass
class SweepConfig:
    tokens: str
    space: str
    out: str
    trials: int = 20
    config: str | None = "tiny"
    overrides: list[str] = field(default_factory=list)
    budget_tokens: int = 0  # 0: the config's own max_tokens / max_steps
    jobs: int = 1
    storage: str | None = None  # default: sqlite:///OUT/study.db
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int = 0
    study_name: str = DEFAULT_STUDY
    progress: bool = True
    command: str | None = None  # the command line, shown in the report


@dataclass(frozen=True)
class Param:
    """One dimension of the search space."""

    name: str
    kind: str  # int | float | categorical
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def suggest(self, trial) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def grid_values(self) -> list[Any]:
        if self.kind == "categorical":
            return list(self.choices)
        if self.step is None:
            if self.kind == "int" and not self.log:
                return list(range(int(self.low), int(self.high) + 1))
            raise InputError(f"space key {self.name}: --sampler grid needs choices or a step for a range")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        values = [self.low + i * self.step for i in range(count)]
        return [int(v) for v in values] if self.kind == "int" else [round(v, 12) for v in values]

    def describe(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


def yaml_value(value: Any) -> str:
    """A value as the YAML scalar that `--set KEY=VALUE` reads back to the same value (1e-10 -> 1.0e-10)."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def load_space(path: str, config: str | None, overrides: list[str]) -> list[Param]:
    """Read and check a space file: every key a TrainConfig key, every range non-empty, every bound and choice
    a value the trainer accepts for that key (checked by the trainer's own load_config)."""
    from trainer.train import TrainConfig, load_config

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise InputError(f"--space {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise InputError(f"--space {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"--space {path} must be a non-empty mapping of config keys to ranges or choices")
    types = {f.name: type(f.default) for f in dataclasses.fields(TrainConfig)}
    params = []
    for key, spec in data.items():
        where = f"--space {path}: key {key!r}"
        if key not in types:
            raise InputError(f"{where} is not a trainer config key (known: {', '.join(types)})")
        if key in ("seed", "max_tokens", "max_steps", "device"):
            raise InputError(f"{where} is fixed for every trial of a sweep (set it with --config or --set)")
        if not isinstance(spec, dict):
            raise InputError(
                f"{where}: expected {{low, high[, log, step]}} or {{choices: [...]}}, got {spec!r}"
            )
        extra = set(spec) - {"low", "high", "log", "step", "choices"}
        if extra:
            raise InputError(f"{where}: unknown field(s) {', '.join(sorted(map(str, extra)))}")
        if "choices" in spec:
            choices = spec["choices"]
            if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
                raise InputError(f"{where}: choices must be a non-empty list, alone")
            if len({yaml_value(c) for c in choices}) != len(choices):
                raise InputError(f"{where}: choices repeat a value")
            param = Param(key, "categorical", choices=tuple(choices))
            values = choices
        else:
            param = _range_param(where, key, spec, types[key])
            values = [param.low, param.high]
        for value in values:  # the trainer's own checks (types, allowed values, positive sizes)
            shown = int(value) if param.kind == "int" else value
            try:
                load_config(config, [*overrides, f"{key}={yaml_value(shown)}"])
            except InputError as err:
                raise InputError(f"{where}: value {shown!r} is refused by the trainer: {err}") from None
        params.append(param)
    return params


def _range_param(where: str, key: str, spec: dict, kind: type) -> Param:
    if "low" not in spec or "high" not in spec:
        raise InputError(f"{where}: a range needs low and high (or give choices)")
    if kind not in (int, float):
        raise InputError(f"{where}: a {kind.__name__} key takes choices, not a range")
    low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    numbers = [v for v in (low, high, step) if v is not None]
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in numbers):
        raise InputError(f"{where}: low, high and step must be numbers")
    if not isinstance(log, bool):
        raise InputError(f"{where}: log must be true or false")
    if kind is int and any(not float(v).is_integer() for v in numbers):
        raise InputError(f"{where}: an integer key needs integer low, high and step")
    if not low < high:
        raise InputError(f"{where}: empty range (low {low} must be below high {high})")
    if step is not None and (step <= 0 or step > high - low):
        raise InputError(f"{where}: step {step} must be positive and at most high - low")
    if log and (low <= 0 or step is not None):
        raise InputError(f"{where}: a log range needs low > 0 and no step")
    return Param(
        key,
        "int" if kind is int else "float",
        low=float(low) if kind is float else int(low),
        high=float(high) if kind is float else int(high),
        log=log,
        step=None if step is None else (float(step) if kind is float else int(step)),
    )


# --- checks before any training ------------------------------------------------------------------------


def budget_overrides(budget_tokens: int) -> list[str]:
    return [f"max_tokens={budget_tokens}"] if budget_tokens else []


def check_budget(config: Any, budget_tokens: int, largest: dict[str, Any] | None = None) -> int:
    """Training steps the budget gives (with the largest batch a trial may draw); refuses a budget that ends
    before the first evaluation, which would leave no validation curve to compare or prune on."""
    c = dataclasses.replace(config, **(largest or {}))
    if budget_tokens < 0:
        raise InputError(f"--budget-tokens must be positive, got {budget_tokens}")
    if not c.eval_every:
        raise InputError("eval_every is 0: a run would never be evaluated; set eval_every in the config")
    per_step = c.batch_size * c.grad_accum * c.seq_len
    tokens = budget_tokens or c.max_tokens
    steps = math.ceil(tokens / per_step) if tokens else c.max_steps
    if steps < c.eval_every:
        raise InputError(
            f"a budget of {tokens or steps * per_step:,} tokens is {steps} steps of {per_step:,} tokens, fewer "
            f"than eval_every={c.eval_every}: no evaluation would run; raise --budget-tokens to at least "
            f"{c.eval_every * per_step:,} or lower eval_every"
        )
    return steps


def _largest(params: list[Param]) -> dict[str, Any]:
    """The space's values that make a step largest or evaluations rarest (the worst case for the budget)."""
    out = {}
    for p in params:
        if p.name in ("batch_size", "grad_accum", "seq_len", "eval_every"):
            out[p.name] = max(p.choices) if p.kind == "categorical" else p.high
    return out


def default_storage(out: str) -> str:
    return "sqlite:///" + os.path.abspath(os.path.join(out, "study.db"))


def open_storage(url: str):
    """An Optuna RDB storage, with heartbeats so that trials of a killed process are failed and redone.
    A URL that cannot be opened (bad scheme, missing driver, unreachable server, unwritable file) -> one line."""
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeats
    engine: dict[str, Any] = {}
    if url.startswith("sqlite:"):
        engine = {"connect_args": {"timeout": 60}}  # several worker processes write to one file
    try:
        return optuna.storages.RDBStorage(
            url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_S, grace_period=2 * HEARTBEAT_S
        )
    except Exception as err:  # sqlalchemy's ArgumentError, OperationalError, a missing driver's ImportError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise OutputError(f"--storage {url} cannot be opened: {first}") from None


def make_sampler(name: str, seed: int):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    # grid: every trial comes from the queue (enqueue_grid), so the sampler never draws
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(name: str):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


@dataclass
class Plan:
    cfg: SweepConfig
    params: list[Param]
    storage_url: str
    steps: int
    grid: list[dict[str, Any]] | None


def plan(cfg: SweepConfig) -> Plan:
    """Every check, before anything is trained or written."""
    from corpus.tokenization import read_meta
    from trainer.train import load_config

    if cfg.sampler not in SAMPLERS:
        raise InputError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {cfg.sampler!r}")
    if cfg.pruner not in PRUNERS:
        raise InputError(f"--pruner must be one of {', '.join(PRUNERS)}, got {cfg.pruner!r}")
    if cfg.trials < 1:
        raise InputError(f"--trials must be at least 1, got {cfg.trials}")
    if cfg.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {cfg.jobs}")
    read_meta(cfg.tokens)  # token shards, or one line saying what is missing
    overrides = [*cfg.overrides, *budget_overrides(cfg.budget_tokens)]
    base = load_config(cfg.config, overrides)
    params = load_space(cfg.space, cfg.config, overrides)
    steps = check_budget(base, cfg.budget_tokens, _largest(params))
    grid = None
    if cfg.sampler == "grid":
        names = [p.name for p in params]
        grid = [dict(zip(names, combo)) for combo in itertools.product(*(p.grid_values() for p in params))]
        if cfg.trials > len(grid):
            print(
                f"sweep: the grid has {len(grid)} points; --trials {cfg.trials} -> {len(grid)}",
                file=sys.stderr,
            )
            cfg = dataclasses.replace(cfg, trials=len(grid))
    if os.path.exists(cfg.out) and not os.path.isdir(cfg.out):
        raise OutputError(f"--out {cfg.out} exists and is not a folder")
    if cfg.storage:
        open_storage(cfg.storage)  # before anything is written
    os.makedirs(cfg.out, exist_ok=True)
    url = cfg.storage or default_storage(cfg.out)
    open_storage(url)
    return Plan(cfg, params, url, steps, grid)


# --- running trials ------------------------------------------------------------------------------------


FINISHED = ("COMPLETE", "PRUNED")


def _count(study, states: tuple[str, ...]) -> int:
    import optuna

    wanted = tuple(getattr(optuna.trial.TrialState, s) for s in states)
    return len(study.get_trials(deepcopy=False, states=wanted))


def load_study(p: Plan, worker: int = 0):
    """Create or open the study; the space is stored with it, and a rerun with another space is refused."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(p.storage_url)
    study = optuna.create_study(
        storage=storage, study_name=p.cfg.study_name, direction="minimize", load_if_exists=True
    )
    # the sampler's seed also depends on the worker and on the trials already there, so that a continued
    # study or a second worker does not draw the same first values again (the same for a given history)
    seed = p.cfg.seed + 1_000_003 * worker + len(study.get_trials(deepcopy=False))
    study = optuna.load_study(
        study_name=p.cfg.study_name,
        storage=storage,
        sampler=make_sampler(p.cfg.sampler, seed),
        pruner=make_pruner(p.cfg.pruner),
    )
    space = {q.name: q.describe() for q in p.params}
    stored = study.user_attrs.get("space")
    if stored is None:
        study.set_user_attr("space", space)
        study.set_user_attr("config", p.cfg.config)
        study.set_user_attr("overrides", p.cfg.overrides)
        study.set_user_attr("budget_tokens", p.cfg.budget_tokens)
        study.set_user_attr("sampler", p.cfg.sampler)
    elif stored != space:
        raise InputError(
            f"study {p.cfg.study_name!r} in {p.storage_url} was run with another search space; "
            "use another --out, --storage or --study-name"
        )
    return study


def enqueue_grid(study, p: Plan) -> None:
    """Queue the grid points not yet in the study, in file order, up to --trials points in all."""
    done = {_key(t.params) for t in study.get_trials(deepcopy=False)}
    for point in p.grid[: p.cfg.trials]:
        if _key(point) not in done:
            study.enqueue_trial(point, user_attrs={"grid_point": True})


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted((k, yaml_value(v)) for k, v in params.items()))


class GridExhausted(Exception):
    pass


class Objective:
    def __init__(self, p: Plan, worker: int) -> None:
        self.p, self.worker = p, worker
        self.started = time.monotonic()
        self.finished_s: list[float] = []

    def __call__(self, trial) -> float:
        import optuna

        from trainer.train import StopTraining, TrainingError, load_config, train

        p, cfg = self.p, self.p.cfg
        if p.grid is not None and not trial.user_attrs.get("grid_point"):
            # the queue is empty: parallel workers took the last grid points; recorded as failed, not a result
            trial.study.stop()
            raise GridExhausted(f"trial {trial.number}: every grid point is taken")
        values = {q.name: q.suggest(trial) for q in p.params}
        overrides = [*cfg.overrides, *budget_overrides(cfg.budget_tokens)]
        overrides += [f"{k}={yaml_value(v)}" for k, v in values.items()]
        if cfg.jobs > 1 and not any(o.startswith("threads=") for o in cfg.overrides):
            overrides.append(f"threads={max(1, (os.cpu_count() or 1) // cfg.jobs)}")
        config = load_config(cfg.config, overrides)
        run = os.path.join(cfg.out, "trials", f"trial-{trial.number:04d}")
        trial.set_user_attr("run", os.path.abspath(run))
        started = time.monotonic()
        steps = (
            math.ceil(config.max_tokens / (config.batch_size * config.grad_accum * config.seq_len))
            if (config.max_tokens)
            else config.max_steps
        )
        pruned = {"at": None}

        def on_eval(step: int, metrics: dict) -> None:
            value = metrics["val_bpb"]
            trial.report(value, step)
            self._progress(trial, step, steps, value, started)
            if trial.should_prune():
                pruned["at"] = step
                raise StopTraining

        try:
            summary = train(config, cfg.tokens, run, on_eval=on_eval, progress=False)
        except TrainingError as err:
            trial.set_user_attr("diverged", str(err))
            self._say(f"trial {trial.number}: diverged, pruned ({err})")
            raise optuna.TrialPruned(str(err)) from None
        trial.set_user_attr("wall_s", summary.get("wall_s"))
        trial.set_user_attr("tokens_seen", summary.get("tokens_seen"))
        trial.set_user_attr("parameters", summary.get("parameters"))
        self.finished_s.append(time.monotonic() - started)
        if pruned["at"] is not None:
            self._say(f"trial {trial.number}: pruned at step {pruned['at']}")
            raise optuna.TrialPruned(f"pruned at step {pruned['at']}")
        value = summary.get("final_val_bpb")
        if value is None or not math.isfinite(value):
            raise optuna.TrialPruned("no finite validation bits per byte")
        self._say(
            f"trial {trial.number}: val_bpb {value:.4f} ({', '.join(f'{k}={v}' for k, v in values.items())})"
        )
        return float(value)

    def _say(self, message: str) -> None:
        if self.p.cfg.progress:
            tag = f"[worker {self.worker}] " if self.p.cfg.jobs > 1 else ""
            print(f"sweep: {tag}{message}", file=sys.stderr, flush=True)

    def _progress(self, trial, step: int, steps: int, value: float, started: float) -> None:
        """The trial's step and two ETAs: this trial's, and the sweep's (the trials still to start, at the
        mean duration of this worker's finished ones, shared among the workers)."""
        elapsed = time.monotonic() - started
        eta = elapsed / max(step, 1) * (steps - step)
        per_trial = statistics.fmean(self.finished_s) if self.finished_s else elapsed + eta
        to_start = max(0, self.p.cfg.trials - _count(trial.study, (*FINISHED, "RUNNING")))
        total = eta + per_trial * math.ceil(to_start / self.p.cfg.jobs)
        self._say(
            f"trial {trial.number}: step {step}/{steps} val_bpb {value:.4f}, "
            f"ETA trial {fmt_duration(eta)}, sweep {fmt_duration(total)}"
        )


def _stop_when_enough(trials: int):
    """Stop a worker once the finished trials and those other workers are running reach --trials."""

    def callback(study, trial) -> None:
        if _count(study, (*FINISHED, "RUNNING")) >= trials:
            study.stop()

    return callback


def run_worker(p: Plan, worker: int) -> None:
    import optuna

    study = load_study(p, worker)
    optuna.storages.fail_stale_trials(study)
    left = p.cfg.trials - _count(study, (*FINISHED, "RUNNING"))
    if left <= 0:
        return
    study.optimize(
        Objective(p, worker),
        n_trials=left,
        callbacks=[_stop_when_enough(p.cfg.trials)],
        catch=(GridExhausted,),
        gc_after_trial=True,
    )


def _worker_main(p: Plan, worker: int) -> None:
    try:
        run_worker(p, worker)
    except KeyboardInterrupt:
        sys.exit(130)


def run_sweep(cfg: SweepConfig) -> dict[str, Any]:
    """Run (or continue) the sweep to cfg.trials finished trials; write sweep.html/json/md; return the summary."""
    p = plan(cfg)
    study = load_study(p)
    if p.grid is not None:
        enqueue_grid(study, p)
    finished = _count(study, FINISHED)
    if cfg.progress:
        todo = max(0, cfg.trials - finished)
        print(
            f"sweep: study {cfg.study_name!r} in {p.storage_url}: {finished} finished trial(s), {todo} to run "
            f"({p.steps} steps each, {cfg.jobs} job(s))",
            file=sys.stderr,
            flush=True,
        )
    if cfg.jobs == 1:
        run_worker(p, 0)
    else:
        ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch or SQLite state
        procs = [ctx.Process(target=_worker_main, args=(p, w), daemon=False) for w in range(cfg.jobs)]
        for proc in procs:
            proc.start()
        try:
            for proc in procs:
                proc.join()
        except KeyboardInterrupt:
            for proc in procs:
                proc.join()
            raise
        failed = [w for w, proc in enumerate(procs) if proc.exitcode]
        if failed:
            print(f"sweep: warning: worker(s) {failed} exited with an error", file=sys.stderr)
    return write_report(load_study(p), p)


# --- report -------------------------------------------------------------------------------------------

MIN_TRIALS_FOR_IMPORTANCE = 3


def _finite(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def importances(study) -> tuple[dict[str, float] | None, str]:
    """Optuna's parameter importances (fANOVA), or None and why not (too few complete trials)."""
    import warnings

    import optuna

    complete = _count(study, ("COMPLETE",))
    if complete < MIN_TRIALS_FOR_IMPORTANCE:
        return None, f"{complete} complete trial(s): importances need at least {MIN_TRIALS_FOR_IMPORTANCE}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError, ImportError) as err:
            return None, f"importances not available: {err}"
    if any("too small" in str(w.message) for w in caught):
        return None, "too few distinct trials for importances"
    return {
        k: round(float(v), 4) for k, v in values.items()
    }, "fANOVA (optuna.importance), share of the variance"


def best_config(p: Plan, params: dict[str, Any]) -> dict[str, Any]:
    from trainer.train import load_config

    overrides = [*p.cfg.overrides, *budget_overrides(p.cfg.budget_tokens)]
    overrides += [f"{k}={yaml_value(v)}" for k, v in params.items()]
    return dataclasses.asdict(load_config(p.cfg.config, overrides))


def summarize(study, p: Plan) -> dict[str, Any]:
    trials = []
    for t in study.get_trials(deepcopy=False):
        trials.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": _finite(t.value) if t.values else None,
                "params": t.params,
                "run": t.user_attrs.get("run"),
                "intermediate": [[int(s), _finite(v)] for s, v in sorted(t.intermediate_values.items())],
                "duration_s": round(t.duration.total_seconds(), 1) if t.duration else None,
                **({"diverged": t.user_attrs["diverged"]} if "diverged" in t.user_attrs else {}),
            }
        )
    counts = {}
    for t in trials:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    complete = [t for t in trials if t["state"] == "complete" and t["value"] is not None]
    best = min(complete, key=lambda t: (t["value"], t["number"])) if complete else None
    imp, imp_note = importances(study)
    out: dict[str, Any] = {
        "study": p.cfg.study_name,
        "storage": p.storage_url,
        "objective": "validation bits per byte at the end of the token budget (minimize)",
        "tokens": os.path.abspath(p.cfg.tokens),
        "config": p.cfg.config,
        "overrides": p.cfg.overrides,
        "budget_tokens": p.cfg.budget_tokens,
        "steps_per_trial": p.steps,
        "sampler": p.cfg.sampler,
        "pruner": p.cfg.pruner,
        "space": {q.name: q.describe() for q in p.params},
        "command": p.cfg.command,
        "trials_target": p.cfg.trials,
        "counts": counts,
        "trials": trials,
        "importances": imp,
        "importances_note": imp_note,
        "best": None,
    }
    if best:
        out["best"] = {**best, "config": best_config(p, best["params"])}
    return out


def write_report(study, p: Plan) -> dict[str, Any]:
    """OUT/sweep.json, sweep.md, sweep.html and best.yaml (the best trial's full config, for `corpus train
    --config`). Returns the summary."""
    summary = summarize(study, p)
    out = p.cfg.out
    if summary["best"]:
        best_yaml = os.path.join(out, "best.yaml")
        head = (
            f"# best trial {summary['best']['number']} of sweep {p.cfg.study_name!r}: "
            f"val_bpb {summary['best']['value']:.4f}\n# train it: corpus train TOKENS --config {best_yaml} --out RUN\n"
        )
        write_atomic(best_yaml, head + yaml.safe_dump(summary["best"]["config"], sort_keys=False))
        summary["best"]["config_file"] = os.path.abspath(best_yaml)
    write_json(os.path.join(out, "sweep.json"), summary)
    write_atomic(os.path.join(out, "sweep.md"), render_markdown(summary))
    write_atomic(os.path.join(out, "sweep.html"), render_html(summary))
    return summary


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _trial_rows(summary: dict[str, Any]) -> list[list[Any]]:
    names = list(summary["space"])
    rows = []
    for t in summary["trials"]:
        last = next((v for _, v in reversed(t["intermediate"]) if v is not None), None)
        rows.append(
            [
                t["number"],
                t["state"],
                _fmt(t["value"])
                if t["value"] is not None
                else f"({_fmt(last)} at step {t['intermediate'][-1][0] if t['intermediate'] else '–'})",
                *[_fmt(t["params"].get(n)) for n in names],
                _fmt(t["duration_s"]),
                os.path.relpath(t["run"], summary_root(summary)) if t["run"] else "–",
            ]
        )
    return rows


def summary_root(summary: dict[str, Any]) -> str:
    run = next((t["run"] for t in summary["trials"] if t["run"]), None)
    return os.path.dirname(os.path.dirname(run)) if run else "."


def headline(summary: dict[str, Any]) -> str:
    c = summary["counts"]
    parts = [f"{c.get(s, 0)} {s}" for s in ("complete", "pruned", "fail", "running", "waiting") if c.get(s)]
    best = summary["best"]
    text = f"{len(summary['trials'])} trial(s): {', '.join(parts) or 'none'}. "
    if best:
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in best["params"].items())
        text += f"Best: trial {best['number']}, val_bpb {best['value']:.4f} ({params})."
    else:
        text += "No trial completed yet."
    return text


def render_markdown(summary: dict[str, Any]) -> str:
    from trainer.experiment_report import md_table

    names = list(summary["space"])
    lines_ = [
        f"# Sweep {summary['study']}",
        "",
        headline(summary),
        "",
        f"Objective: {summary['objective']}. Budget: {summary['budget_tokens'] or 'the config'} tokens "
        f"({summary['steps_per_trial']} steps at the largest batch); config {summary['config']}"
        + (f" with {' '.join(summary['overrides'])}" if summary["overrides"] else "")
        + f"; sampler {summary['sampler']}, pruner {summary['pruner']}; storage {summary['storage']}.",
        "",
        "## Trials",
        "",
        md_table(
            ["trial", "state", "val_bpb (pruned: last reported)", *names, "seconds", "run"],
            _trial_rows(summary),
        ),
        "",
        "## Parameter importances",
        "",
    ]
    if summary["importances"]:
        lines_.append(
            md_table(["parameter", "importance"], [[k, v] for k, v in summary["importances"].items()])
        )
    lines_.append(f"\n{summary['importances_note']}\n")
    if summary["best"]:
        lines_ += [
            "## Best config",
            "",
            f"`corpus train TOKENS --config {summary['best']['config_file']} --out RUN`",
            "",
            "```yaml",
            yaml.safe_dump(summary["best"]["config"], sort_keys=False).rstrip(),
            "```",
        ]
    return "\n".join(lines_) + "\n"


def render_html(summary: dict[str, Any]) -> str:
    from html import escape

    from corpus.report import svg
    from trainer.experiment_report import lines, page, section, table

    names = list(summary["space"])
    objective, best_so_far, pruned = [], [], []
    best = math.inf
    for t in summary["trials"]:
        if t["state"] == "complete" and t["value"] is not None:
            objective.append((t["number"], t["value"]))
            best = min(best, t["value"])
        if t["state"] == "pruned" and t["intermediate"]:
            last = t["intermediate"][-1][1]
            if last is not None:
                pruned.append((t["number"], last))
        if math.isfinite(best):
            best_so_far.append((t["number"], best))
    chart = lines(
        "objective",
        "Objective (val bits per byte) per trial, and the best so far",
        [("complete", objective), ("best so far", best_so_far), ("pruned (last reported)", pruned)],
        x_label="trial",
        y_label="val bpb",
        dashed={"best so far"},
    )
    curves = lines(
        "curves",
        "Validation bits per byte reported during each trial",
        [
            (f"trial {t['number']} ({t['state']})", [(s, v) for s, v in t["intermediate"] if v is not None])
            for t in summary["trials"]
        ],  # fmt: skip
        x_label="step",
        y_label="val bpb",
    )
    if summary["importances"]:
        imp = svg.hbar("importances", "Parameter importances", list(summary["importances"].items()))
    else:
        imp = ""
    body = [
        section(
            "summary",
            "Summary",
            f"<p>{escape(headline(summary))}</p>"
            + table(
                ["", ""],
                [
                    ["objective", summary["objective"]],
                    ["token budget per trial", summary["budget_tokens"] or "the config's"],
                    ["steps per trial (largest batch)", summary["steps_per_trial"]],
                    ["base config", f"{summary['config']} {' '.join(summary['overrides'])}".strip()],
                    ["sampler / pruner", f"{summary['sampler']} / {summary['pruner']}"],
                    ["storage", summary["storage"]],
                    ["search space", "; ".join(f"{k}: {v}" for k, v in summary["space"].items())],
                    *([["command", summary["command"]]] if summary.get("command") else []),
                ],
            ),
        ),
        section("objective", "Objective per trial", chart + curves),
        section(
            "importances",
            "Parameter importances",
            imp + f'<p class="note">{escape(summary["importances_note"])}</p>',
        ),
        section(
            "trials",
            "Trials",
            table(
                ["trial", "state", "val bpb (pruned: last reported)", *names, "seconds", "run"],
                _trial_rows(summary),
            ),
        ),
    ]
    if summary["best"]:
        cfg_yaml = yaml.safe_dump(summary["best"]["config"], sort_keys=False)
        body.append(
            section(
                "best",
                "Best config",
                f"<p>Train it: <code>corpus train TOKENS --config {escape(summary['best']['config_file'])} "
                f"--out RUN</code></p><pre>{escape(cfg_yaml)}</pre>",
            )
        )
    return page(f"Sweep: {summary['study']}", f"{summary['storage']} · {summary['tokens']}", body)


__all__ = ["SweepConfig", "Param", "load_space", "run_sweep", "plan", "check_budget"]

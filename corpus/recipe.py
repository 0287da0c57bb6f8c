"""Recipes: YAML (or a dict) naming the input options, the steps in order, the output and the seed.

Everything is checked here, before any work starts: unknown top-level keys, unknown steps, unknown or
mistyped options, each refused with a message naming the bad key and the allowed ones.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corpus.errors import RecipeError
from corpus.readers import FORMATS, InputReader
from corpus.registry import check_options, step_class, step_options

PIPELINES_DIR = Path(__file__).resolve().parents[1] / "pipelines"
TOP_LEVEL = ("name", "description", "seed", "tasks", "input", "steps", "output")
OUTPUT_DEFAULTS: dict[str, Any] = {
    "format": "parquet",
    "max_docs_per_shard": 50_000,
    "max_bytes_per_shard": 256 * 2**20,
    "rejected": True,
    "compression": "zstd",
}
# InputReader arguments the run fills in itself
_INPUT_INTERNAL = ("root", "files", "progress_dir")


@dataclass
class Recipe:
    name: str
    steps: list[tuple[str, dict[str, Any]]]
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=lambda: dict(OUTPUT_DEFAULTS))
    seed: int = 0
    tasks: int | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "tasks": self.tasks,
            "input": self.input,
            "steps": [{name: opts} for name, opts in self.steps],
            "output": self.output,
        }


def _read_yaml(source: str | Path) -> dict[str, Any]:
    path = Path(source)
    if not path.is_file() and (PIPELINES_DIR / f"{source}.yaml").is_file():
        path = PIPELINES_DIR / f"{source}.yaml"  # `corpus prepare web` means pipelines/web.yaml
    if not path.is_file():
        raise RecipeError(f"recipe not found: {source}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise RecipeError(f"recipe {path} is not valid YAML: {_yaml_problem(err)}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RecipeError(f"recipe {path} cannot be read: {err}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {path} must be a mapping with keys {', '.join(TOP_LEVEL)}")
    data.setdefault("name", path.stem)
    return data


def _yaml_problem(err: yaml.YAMLError) -> str:
    """'line 3, column 7: mapping values are not allowed here': where the parser gave up and why (both
    1-based, as editors count)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _parse_steps(raw: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(raw, list) or not raw:
        raise RecipeError(
            "recipe 'steps' must be a non-empty list, e.g. [{html_extract: {}}, {normalize: {}}]"
        )
    steps = []
    for item in raw:
        if isinstance(item, str):
            name, opts = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, opts = next(iter(item.items()))
            opts = opts or {}
        else:
            raise RecipeError(
                f"each step must be a step name or a one-key mapping {{name: {{options}}}}, got {item!r}"
            )
        if not isinstance(opts, dict):
            raise RecipeError(f"step {name!r}: options must be a mapping, got {opts!r}")
        steps.append((str(name), dict(opts)))
    return steps


def load_recipe(source: str | Path | dict[str, Any] | Recipe) -> Recipe:
    """Load and validate a recipe from a YAML path, a name in pipelines/, or a dict."""
    if isinstance(source, Recipe):
        source = source.to_dict()
    data = copy.deepcopy(source) if isinstance(source, dict) else _read_yaml(source)
    unknown = set(data) - set(TOP_LEVEL)
    if unknown:
        raise RecipeError(
            f"unknown recipe key(s) {', '.join(sorted(unknown))}; allowed keys: {', '.join(TOP_LEVEL)}"
        )
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise RecipeError(f"recipe 'seed' must be an integer, got {seed!r}")
    tasks = data.get("tasks")
    if tasks is not None and (not isinstance(tasks, int) or tasks < 1):
        raise RecipeError(f"recipe 'tasks' must be a positive integer, got {tasks!r}")

    input_opts = dict(data.get("input") or {})
    allowed_input = [k for k in step_options(InputReader) if k not in _INPUT_INTERNAL]
    for key in input_opts:
        if key not in allowed_input:
            raise RecipeError(f"input: unknown option {key!r}; allowed options: {', '.join(allowed_input)}")
    if input_opts.get("format", "auto") not in FORMATS:
        raise RecipeError(f"input: format must be one of {', '.join(FORMATS)}, got {input_opts['format']!r}")
    InputReader.validate_options(input_opts)

    output = dict(OUTPUT_DEFAULTS)
    for key, value in (data.get("output") or {}).items():
        if key not in OUTPUT_DEFAULTS:
            raise RecipeError(
                f"output: unknown option {key!r}; allowed options: {', '.join(OUTPUT_DEFAULTS)}"
            )
        if type(value) is not type(OUTPUT_DEFAULTS[key]):
            raise RecipeError(
                f"output: option {key!r} should be {type(OUTPUT_DEFAULTS[key]).__name__}, got {value!r}"
            )
        output[key] = value
    if output["format"] not in ("parquet", "arrow"):
        raise RecipeError(f"output: format must be parquet or arrow, got {output['format']!r}")
    if output["max_docs_per_shard"] < 1 or output["max_bytes_per_shard"] < 1:
        raise RecipeError("output: shard limits must be positive")

    steps = _parse_steps(data.get("steps"))
    for name, opts in steps:
        check_options(name, opts)
        if "seed" in step_options(step_class(name)) and "seed" not in opts:
            opts["seed"] = seed  # one seed at the top of the recipe drives every random step
    return Recipe(
        name=str(data.get("name", "recipe")),
        description=str(data.get("description", "")),
        seed=seed,
        tasks=tasks,
        input=input_opts,
        steps=steps,
        output=output,
    )


def is_global(name: str) -> bool:
    from corpus.global_step import GlobalStep

    return issubclass(step_class(name), GlobalStep)


def is_after_run(name: str) -> bool:
    return bool(getattr(step_class(name), "after_run", False))

"""pyproject.toml, environment.yml and the lock stay in step; the Makefile installs with the lock; the
public API is importable and fast."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from helpers import LOCK, locked_pins
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name, where they differ.
CONDA_NAME = {
    "ibis-framework": "ibis-framework-core",
    "duckdb": "python-duckdb",
    "matplotlib": "matplotlib-base",
}
# Not on conda-forge: installed through environment.yml's pip section.
PIP_ONLY = {"matplotlib-fontja"}


def _split(requirement: str) -> tuple[str, str]:
    requirement = requirement.split(";")[0].strip()
    match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower(), match.group(3).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in ("notebooks", "test"):  # what environment.yml promises conda users
        reqs += meta["optional-dependencies"][extra]
    return dict(_split(r) for r in reqs)


def _environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                if not pip_dep.startswith("-e"):
                    name, spec = _split(pip_dep)
                    out[name] = spec
            continue
        name, spec = _split(dep)
        if name in {"python", "pip"}:
            continue
        reverse = {v: k for k, v in CONDA_NAME.items()}
        out[reverse.get(name, name)] = spec
    return out


def test_environment_yml_matches_pyproject():
    py = _pyproject_requirements()
    env = _environment_requirements()
    assert sorted(set(py) - set(env)) == [], "in pyproject.toml but not environment.yml"
    assert sorted(set(env) - set(py)) == [], "in environment.yml but not pyproject.toml"
    mismatched = {name: (py[name], env[name]) for name in py if py[name] != env[name]}
    assert mismatched == {}, "version constraints differ"


def test_pip_only_packages_are_in_pip_section():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    names = {_split(p)[0] for p in pip_section if not p.startswith("-e")}
    assert names == PIP_ONLY
    assert "-e ." in pip_section
    assert env["channels"] == ["conda-forge"]


def test_python_version_floor_agrees():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert meta["requires-python"] == ">=3.11"
    assert "python>=3.11" in env["dependencies"]


def test_every_public_module_declares_all():
    import importlib

    import cohortkit

    for name in sorted(cohortkit._SUBMODULES):
        path = Path(cohortkit.__file__).parent / name
        if not (path.with_suffix(".py").exists() or (path / "__init__.py").exists()):
            continue  # module not written yet
        module = importlib.import_module(f"cohortkit.{name}")
        assert hasattr(module, "__all__"), name
        for public in module.__all__:
            assert hasattr(module, public), f"cohortkit.{name}.{public}"


def test_lazy_names_resolve():
    import cohortkit

    for name, module in cohortkit._LAZY.items():
        path = Path(cohortkit.__file__).parent / module
        if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
            assert callable(getattr(cohortkit, name)), name


def test_import_is_light():
    code = (
        "import sys, time; t = time.perf_counter(); import cohortkit; "
        "heavy = [m for m in ('ibis', 'lifetimes', 'matplotlib', 'scipy', 'seaborn') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the lock (requirements/constraints.txt, made by `make lock`, installed by `make install`) -----

# (sys_platform, os_name, platform_system) of the platforms the universal lock must cover
PLATFORMS = [("linux", "posix", "Linux"), ("darwin", "posix", "Darwin"), ("win32", "nt", "Windows")]
PYTHONS = ["3.11.0", "3.11.9", "3.12.0", "3.13.0", "3.14.0"]


def _all_pyproject_requirements() -> dict[str, SpecifierSet]:
    """Runtime dependencies and every extra (the lock covers them all), without cohortkit itself."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in meta["dependencies"]]
    reqs += [Requirement(r) for extra in meta["optional-dependencies"].values() for r in extra]
    out: dict[str, SpecifierSet] = {}
    for req in reqs:
        name = canonicalize_name(req.name)
        if name != "cohortkit":
            out[name] = out.get(name, SpecifierSet()) & req.specifier
    return out


def _makefile_variables() -> dict[str, str]:
    text = (ROOT / "Makefile").read_text()
    return {k: v.strip() for k, v in re.findall(r"^([A-Z_]+)\s*[:?]?=[ \t]*(.*)$", text, re.M)}


def _make_rule(target: str) -> tuple[list[str], list[str]]:
    """(prerequisites, recipe lines) of one rule of the Makefile."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:([^\n]*)\n((?:\t[^\n]*\n)*)", text, re.M)
    assert match, f"no rule for {target} in the Makefile"
    return match.group(1).split(), [line.strip() for line in match.group(2).splitlines()]


def _make_dry_run(*args: str) -> list[str]:
    out = subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return out.stdout.splitlines()


def test_lock_satisfies_pyproject_and_environment_yml():
    pins = locked_pins()
    wanted = {
        "pyproject.toml": _all_pyproject_requirements(),
        "environment.yml": {canonicalize_name(n): SpecifierSet(s) for n, s in _environment_requirements().items()},
    }
    for source, reqs in wanted.items():
        assert sorted(set(reqs) - set(pins)) == [], f"named in {source} but not in the lock: run make lock"
        outside = [(name, version, str(spec)) for name, spec in reqs.items() for version, _ in pins[name]
                   if not spec.contains(version, prereleases=True)]
        assert outside == [], f"locked versions outside {source}'s constraints: run make lock"
    # the numerics that decide whether data/shop regenerates byte for byte are pinned exactly once on 3.11
    on_311 = {"python_full_version": "3.11.9", "python_version": "3.11", "sys_platform": "linux",
              "os_name": "posix", "platform_system": "Linux"}
    for name in ("numpy", "pandas", "scipy", "pyarrow", "duckdb", "ibis-framework", "lifetimes"):
        assert len([v for v, m in pins[name] if m is None or m.evaluate(on_311)]) == 1, name


def test_lock_is_universal_for_the_supported_pythons_and_platforms():
    """Every dependency has exactly one pin for each supported Python on Linux, macOS and Windows."""
    pins = locked_pins()
    for python in PYTHONS:
        for sys_platform, os_name, system in PLATFORMS:
            env = {"python_full_version": python, "python_version": python.rsplit(".", 1)[0],
                   "sys_platform": sys_platform, "os_name": os_name, "platform_system": system,
                   "implementation_name": "cpython", "platform_python_implementation": "CPython"}
            counts = {name: len([v for v, m in pins[name] if m is None or m.evaluate(env)])
                      for name in _all_pyproject_requirements()}
            assert {n: c for n, c in counts.items() if c != 1} == {}, (python, sys_platform)


def test_lock_is_made_as_the_makefile_says():
    make = _makefile_variables()
    assert make["LOCK"] == "requirements/constraints.txt" == LOCK.relative_to(ROOT).as_posix()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", make["LOCK_DATE"]), "a UTC cut-off, not a local date"
    lines = LOCK.read_text().splitlines()
    command = lines[lines.index("# This file was autogenerated by uv via the following command:") + 1]
    args = make["LOCK_ARGS"].replace("$(LOCK_DATE)", make["LOCK_DATE"])
    assert command == f"#    uv pip compile pyproject.toml {args}"
    floor = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"--python-version {floor.removeprefix('>=')}" in args
    assert "--universal" in args and "--all-extras" in args
    tools = {Requirement(l).name: str(Requirement(l).specifier)
             for l in (ROOT / make["TOOLS"]).read_text().splitlines() if l and not l.startswith("#")}
    assert set(tools) == {"pip", "uv"} and all(s.startswith("==") for s in tools.values()), tools
    _, recipe = _make_rule("lock")
    assert "$(BIN)/python -m pip install -c $(TOOLS) pip uv" in recipe
    assert any("$(BIN)/uv pip compile pyproject.toml $(LOCK_ARGS)" in line for line in recipe)


def test_makefile_installs_with_the_lock(tmp_path):
    prerequisites, recipe = _make_rule("$(STAMP)")
    assert {"pyproject.toml", "$(LOCK)", "$(TOOLS)"} <= set(prerequisites)
    installs = [line for line in recipe if "pip install" in line]
    assert installs == ["$(BIN)/python -m pip install -c $(TOOLS) pip",
                        '$(BIN)/python -m pip install -c $(LOCK) -e ".[$(EXTRAS)]"']
    # as make expands it, for CI's extras, into a venv that does not exist yet
    venv = tmp_path / "venv"
    lines = _make_dry_run("install", f"VENV={venv}", "EXTRAS=dev,spark")
    assert f'{venv}/bin/python -m pip install -c requirements/constraints.txt -e ".[dev,spark]"' in lines
    assert f"{venv}/bin/python -m pip install -c requirements/tools.txt pip" in lines
    assert not [line for line in lines if "--upgrade" in line]


def test_make_test_latest_installs_without_the_lock():
    lines = _make_dry_run("test-latest", "LATEST=/nonexistent/latest")
    installs = [line for line in lines if "pip install" in line]
    assert installs and all("--upgrade" in line and " -c " not in line for line in installs), installs
    assert all(line.startswith("/nonexistent/latest/bin/") for line in lines if "python -m" in line)
    assert "/nonexistent/latest/bin/python -m pytest" in lines
    assert ".venv-latest/" in (ROOT / ".gitignore").read_text().splitlines()


def test_make_lab_allows_root_only_as_root(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    stamp = venv / ".installed-dev"
    stamp.touch()  # newer than pyproject.toml and the lock: make lab runs jupyter only
    (lab,) = [line for line in _make_dry_run("lab", f"VENV={venv}") if "jupyter lab" in line]
    # run the command line with `echo` in place of jupyter, in the shell make would use
    shown = subprocess.run(["sh", "-c", lab.replace(f"{venv}/bin/jupyter", "echo", 1)],
                           capture_output=True, text=True, check=True).stdout.split()
    assert shown[:2] == ["lab", "--notebook-dir=notebooks"]
    assert ("--allow-root" in shown) == (os.geteuid() == 0)

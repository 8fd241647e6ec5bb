"""pyproject.toml and environment.yml stay in step; the public API is importable and fast."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

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

"""Helpers shared by the tests.

The dependency lock, ``requirements/constraints.txt`` (made by ``make lock``, installed by ``make
install``): what it pins and whether this environment runs those versions.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "constraints.txt"


def locked_pins(path: Path = LOCK) -> dict[str, list[tuple[str, Marker | None]]]:
    """Every ``name==version [; marker]`` line of the lock: canonical name → [(version, marker), …].

    A universal lock may pin one package twice, under markers for different Pythons or platforms.
    """
    pins: dict[str, list[tuple[str, Marker | None]]] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        if req.extras or req.url or len(specs) != 1 or specs[0].operator != "==":
            raise ValueError(f"{path}: not an exact pin: {line!r}")
        pins.setdefault(canonicalize_name(req.name), []).append((specs[0].version, req.marker))
    return pins


def locked_versions_here(path: Path = LOCK) -> dict[str, str]:
    """Canonical name → the locked version whose marker holds for this interpreter and platform."""
    here: dict[str, str] = {}
    for name, entries in locked_pins(path).items():
        versions = [version for version, marker in entries if marker is None or marker.evaluate()]
        if len(versions) > 1:
            raise ValueError(f"{path}: {name} is pinned {len(versions)} times for this Python: {versions}")
        if versions:
            here[name] = versions[0]
    return here


def installed_versions() -> dict[str, str]:
    """Canonical name → installed version, for every distribution this interpreter sees."""
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def off_lock(names, path: Path = LOCK) -> dict[str, tuple[str | None, str | None]]:
    """``{name: (installed, locked)}`` for those of *names* not installed at the lock's version here.

    Empty when every one of *names* is installed exactly as the lock pins it (None: not installed, or
    not in the lock for this Python).
    """
    locked = locked_versions_here(path)
    installed = installed_versions()
    out = {}
    for name in map(canonicalize_name, names):
        have, want = installed.get(name), locked.get(name)
        if want is None or have is None or Version(have) != Version(want):
            out[name] = (have, want)
    return out


def exact(message: str) -> str:
    """A ``pytest.raises(match=...)`` / ``pytest.warns(match=...)`` pattern matching exactly ``message``.

    >>> import re
    >>> bool(re.search(exact("x=1 (a) is bad."), "x=1 (a) is bad.")), bool(re.search(exact("is bad"), "x is bad."))
    (True, False)
    """
    import re

    return "^" + re.escape(message) + "$"

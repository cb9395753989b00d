"""Build the in-browser kernel's assets into lite/build/, with no request beyond PyPI and npm.

The candidate page runs the JupyterLite Pyodide kernel (jupyterlite-pyodide-kernel 0.7.2,
which pins Pyodide 0.29.3). By default it loads Pyodide and its packages from a CDN; the
interview server must serve everything itself instead:

- pyodide/  the Pyodide core from the npm package (``npm ci`` in this folder), and the
            pure-Python wheels the kernel loads at start, downloaded from PyPI at the
            versions its lock file names. PyPI's bytes differ from Pyodide's repacked
            wheels, so the lock's sha256 (and file name) are rewritten to match.
- pypi/     a piplite index (all.json plus wheels): ``comm`` and our own
            ``jupyter-interview-magics`` (the %%piston magics).

Other packages (numpy, pandas, matplotlib, ...) are not on PyPI or npm for Pyodide: the
lock sends them to the Pyodide CDN, fetched only when a notebook imports them. For sites
with no Internet access, ``--pyodide`` serves a full Pyodide release instead.

Usage: python lite/build.py [--pyodide RELEASE] [--cdn URL] [--wheel WHEEL ...]
The same inputs give the same output folder.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NPM_PYODIDE = HERE / "node_modules" / "pyodide"
OUT = HERE / "build"
CACHE = HERE / ".cache"
CORE_FILES = [
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
]
# What the 0.7.2 kernel imports at start (its initPackageManager and initKernel).
KERNEL_PACKAGES = ["micropip", "ipython", "jedi"]
# Also asked for at start, but only in the full release: never sent to the CDN, so that the
# kernel starts without a request leaving the server (it goes on without them).
START_ONLY_IN_FULL_RELEASE = {"sqlite3"}
# Served by our piplite index: name -> exact version.
PIPLITE_PACKAGES = {"comm": "0.2.3"}
PYTHON_VERSION = "3.13"
PYODIDE_VERSION = "0.29.3"
DEFAULT_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pypi_wheel(name: str, version: str) -> Path:
    """A pure-Python wheel of name==version from PyPI, cached."""
    target = CACHE / f"{normalize(name)}-{version}"
    found = sorted(target.glob("*.whl")) if target.exists() else []
    if not found:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--implementation",
                "py",
                "--abi",
                "none",
                "--platform",
                "any",
                "--python-version",
                PYTHON_VERSION,
                "--dest",
                str(target),
                f"{name}=={version}",
            ],
            check=True,
        )
        found = sorted(target.glob("*.whl"))
    if len(found) != 1:
        raise SystemExit(f"expected one wheel for {name}=={version}, found {found}")
    return found[0]


def closure(lock: dict, roots: list[str]) -> list[str]:
    packages = {normalize(k): k for k in lock["packages"]}
    seen: list[str] = []

    def walk(name: str) -> None:
        key = packages.get(normalize(name))
        if key is None or key in seen:
            return
        seen.append(key)
        for dep in lock["packages"][key]["depends"]:
            walk(dep)

    for root in roots:
        walk(root)
    return seen


def unpack_release(release: Path) -> Path:
    """A full Pyodide release: an unpacked folder, or its .tar.bz2/.tar.gz (unpacked once)."""
    if release.is_dir():
        return release / "pyodide" if (release / "pyodide").is_dir() else release
    target = CACHE / "release" / release.name.split(".tar")[0]
    if not target.exists():
        target.mkdir(parents=True)
        shutil.unpack_archive(release, target)
    return unpack_release(target)


def build_pyodide(out: Path, full_release: Path | None, cdn: str) -> list[str]:
    source = full_release or NPM_PYODIDE
    if not (source / "pyodide-lock.json").exists():
        raise SystemExit(f"{source} has no pyodide-lock.json: run `npm ci` in lite/ first")
    out.mkdir(parents=True)
    for name in CORE_FILES:
        shutil.copy2(source / name, out / name)
    lock = json.loads((source / "pyodide-lock.json").read_text())
    served = closure(lock, KERNEL_PACKAGES)
    for key in served:
        entry = lock["packages"][key]
        if full_release and (full_release / entry["file_name"]).exists():
            shutil.copy2(full_release / entry["file_name"], out / entry["file_name"])
            continue
        if entry["package_type"] != "package" or "py3-none-any" not in entry["file_name"]:
            # e.g. sqlite3: only in the full release; the kernel goes on without it.
            continue
        wheel = pypi_wheel(entry["name"], entry["version"])
        shutil.copy2(wheel, out / wheel.name)
        entry["file_name"] = wheel.name
        entry["sha256"] = sha256(wheel)
    if full_release:
        for wheel in sorted(full_release.glob("*.whl")) + sorted(full_release.glob("*.zip")):
            if not (out / wheel.name).exists() and wheel.name != "python_stdlib.zip":
                shutil.copy2(wheel, out / wheel.name)
    elif cdn:
        # Everything else (numpy, pandas, matplotlib, sqlite3, ...) loads from the CDN when
        # a notebook imports it; the kernel itself never needs it to start.
        for key, entry in lock["packages"].items():
            if key in START_ONLY_IN_FULL_RELEASE:
                continue
            if key not in served or not (out / entry["file_name"]).exists():
                entry["file_name"] = cdn.rstrip("/") + "/" + entry["file_name"].rsplit("/")[-1]
    (out / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
    return served


def magics_wheel(dest: Path) -> Path:
    """``jupyter-interview-magics``: only ``jupyter_interview.magics`` and what it imports.

    The in-browser kernel installs it from the piplite index. piplite installs a wheel's
    requirements too, so it must not be the server's distribution: this one requires
    nothing (IPython is already in the kernel). Written by hand, with fixed timestamps, so
    the same sources give the same bytes.
    """
    src = HERE.parent / "extension" / "jupyter_interview"
    version = re.search(r'__version__ = "([^"]+)"', (src / "__init__.py").read_text()).group(1)
    dist = f"jupyter_interview_magics-{version}.dist-info"
    files = {
        f"jupyter_interview/{name}": (src / name).read_bytes()
        for name in ("__init__.py", "magics.py", "pistonapi.py")
    }
    files[f"{dist}/METADATA"] = (
        "Metadata-Version: 2.1\nName: jupyter-interview-magics\n"
        f"Version: {version}\nSummary: The %%piston magics of jupyter-interview\n"
        "Requires-Python: >=3.11\n"
    ).encode()
    files[f"{dist}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: jupyter-interview lite/build.py\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{dist}/top_level.txt"] = b"jupyter_interview\n"
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip('=')},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    wheel = dest / f"jupyter_interview_magics-{version}-py3-none-any.whl"
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            archive.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), files[path])
    return wheel


def piplite_entry(wheel: Path, name: str, version: str) -> dict:
    return {
        name: {
            "releases": {
                version: [
                    {
                        "filename": wheel.name,
                        "url": f"./{wheel.name}",
                        "digests": {"sha256": sha256(wheel)},
                        "packagetype": "bdist_wheel",
                        "python_version": "py3",
                        "requires_python": None,
                        "size": wheel.stat().st_size,
                        "yanked": False,
                    }
                ]
            }
        }
    }


def build_piplite(out: Path, extra_wheels: list[Path]) -> None:
    out.mkdir(parents=True)
    index: dict = {}
    wheels = [(pypi_wheel(n, v), n, v) for n, v in PIPLITE_PACKAGES.items()]
    for wheel in extra_wheels:
        name, version = wheel.name.split("-")[:2]
        wheels.append((wheel, normalize(name), version))
    for wheel, name, version in wheels:
        shutil.copy2(wheel, out / wheel.name)
        index.update(piplite_entry(out / wheel.name, name, version))
    (out / "all.json").write_text(json.dumps(index, indent=1, sort_keys=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pyodide",
        type=Path,
        help=f"a full Pyodide {PYODIDE_VERSION} release (folder or .tar.bz2) to serve whole, "
        "for sites with no Internet access that need numpy, pandas, matplotlib",
    )
    parser.add_argument(
        "--cdn",
        default=DEFAULT_CDN,
        help="where other Pyodide packages load from when a notebook imports them "
        f"(default {DEFAULT_CDN}; '' for none: importing numpy then fails)",
    )
    parser.add_argument(
        "--wheel",
        type=Path,
        action="append",
        default=[],
        help="an extra wheel for the piplite index (repeatable)",
    )
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    release = unpack_release(args.pyodide) if args.pyodide else None
    served = build_pyodide(OUT / "pyodide", release, args.cdn)
    build_piplite(OUT / "pypi", [magics_wheel(CACHE / "ours"), *args.wheel])
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"lite/build: Pyodide core + {len(served)} packages, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

"""Build the in-browser kernel's assets into lite/build/, with no request beyond PyPI and npm.

The candidate page runs the JupyterLite Pyodide kernel 0.7.2 (the npm package
``@jupyterlite/pyodide-kernel``, bundled into our front end), which pins Pyodide 0.29.3.
Out of the box it loads Pyodide and its packages from a CDN and installs them one after
another at start; here the interview server serves everything, and the kernel loads it
all at once:

- pyodide/  the Pyodide core from the npm package (``npm ci`` in this folder); the
            pure-Python wheels the kernel needs, from PyPI at the versions its lock file
            names; and the kernel's own wheels (piplite, pyodide-kernel, its ipykernel
            stand-in), ``comm`` and our ``jupyter-interview-magics``, added to the lock so
            that ``loadPyodide`` fetches them all in parallel while it boots.
            PyPI's bytes differ from Pyodide's repacked wheels, so the lock's sha256 (and
            file name) are rewritten to match.
- pypi/     a piplite index (all.json plus wheels), for ``%pip install`` in the kernel:
            ``comm``, our magics and the kernel's own wheels.

Python compiles what it imports unless it finds bytecode, and neither the npm core's
standard library nor PyPI's wheels carry any: that was half of the kernel's start-up.
What the kernel imports at start is compiled here, by Pyodide's own Python under Node
(pycompile.mjs), into the standard library zip and the wheels.

Other packages (numpy, pandas, matplotlib, sqlite3, ...) are not on PyPI or npm for
Pyodide: the lock sends them to the Pyodide CDN, fetched only when a notebook imports them.
For sites with no Internet access, ``--pyodide`` serves a full Pyodide release instead.

Usage: python lite/build.py [--pyodide RELEASE] [--cdn URL] [--wheel WHEEL ...]
The same inputs give the same output folder.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
NPM_PYODIDE = HERE / "node_modules" / "pyodide"
# The kernel's JavaScript and its Python wheels ship in one npm package; the front end's
# lock file pins it, so the wheels served here always match the kernel the page runs.
NPM_KERNEL = HERE.parent / "extension/frontend/node_modules/@jupyterlite/pyodide-kernel"
OUT = HERE / "build"
CACHE = HERE / ".cache"
CORE_FILES = ["pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm"]
STDLIB = "python_stdlib.zip"
# What the kernel imports at start, from the Pyodide lock (jedi only where a room turns
# completion on: see jupyter_interview/lite.py).
LOCK_ROOTS = ["micropip", "ipython", "jedi"]
# From PyPI at exact versions, for the piplite index (and the lock, below).
PYPI_EXTRAS = {"comm": "0.2.3"}
MAGICS = "jupyter-interview-magics"
# What the kernel imports at start (extension/frontend/src/worker, magics.ts; jedi where
# completion is on): these get their bytecode compiled in.
START_MODULES = [
    "micropip",
    "piplite.piplite",
    "pyodide_kernel",
    "jupyter_interview.sandbox.magics",
    "jedi",
]
# The wheels the kernel needs at start that are not in the Pyodide lock, and what each
# needs: the kernel's own (the npm package's pypi/ folder), comm and our magics. They go
# into the lock so that they load with the rest; the piplite index holds them too.
LOCK_EXTRAS = {
    "piplite": ["micropip"],
    "ipykernel": ["comm"],
    "comm": ["traitlets"],
    "pyodide-kernel": ["ipykernel", "comm", "ipython", "piplite"],
    MAGICS: ["ipython"],
}
PYTHON_VERSION = "3.13"
PYODIDE_VERSION = "0.29.3"
DEFAULT_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wheel_name_version(wheel: Path) -> tuple[str, str]:
    name, version = wheel.name.split("-")[:2]
    return normalize(name), version


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


def write_zip(path: Path, files: dict[str, bytes]) -> None:
    """A zip of files in name order with fixed timestamps: the same files, the same bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])


def write_wheel(path: Path, files: dict[str, bytes]) -> None:
    """A wheel of files, with its RECORD written for them."""
    (dist_info,) = {name.split("/")[0] for name in files if ".dist-info/" in name}
    files = {name: data for name, data in files.items() if name != f"{dist_info}/RECORD"}
    record = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip('=')},{len(data)}"
        for name, data in sorted(files.items())
    ]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    write_zip(path, files)


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def pyc_source(pyc: str) -> str:
    """The module a bytecode file was compiled from: a/__pycache__/b.cpython-313.pyc -> a/b.py."""
    path = PurePosixPath(pyc)
    return str(path.parent.parent / (path.name.split(".")[0] + ".py"))


def startup_bytecode(pyodide_dir: Path, packages: list[str]) -> tuple[dict, dict]:
    """Bytecode of what the kernel imports at start, as (stdlib zip entries, wheel entries)."""
    with tempfile.TemporaryDirectory() as tmp:
        stdlib, out = Path(tmp) / "stdlib", Path(tmp) / "out"
        shutil.unpack_archive(pyodide_dir / STDLIB, stdlib, format="zip")
        (out / "stdlib").mkdir(parents=True)
        (out / "site").mkdir()
        subprocess.run(
            [
                "node",
                str(HERE / "pycompile.mjs"),
                str(pyodide_dir),
                str(stdlib),
                str(out),
                ",".join(START_MODULES),
                ",".join(packages),
            ],
            check=True,
        )
        return read_tree(out / "stdlib"), read_tree(out / "site")


def add_files(archive: Path, extra: dict[str, bytes]) -> None:
    """Rewrite a zip (or a wheel, with its RECORD) with extra files in it."""
    with zipfile.ZipFile(archive) as z:
        files = {name: z.read(name) for name in z.namelist()}
    files.update(extra)
    (write_wheel if archive.suffix == ".whl" else write_zip)(archive, files)


def add_bytecode(out: Path, lock: dict, served: list[str]) -> None:
    """Compile what the kernel imports at start into the stdlib zip and the served wheels.

    Python compiles a module it imports unless it finds its bytecode, and neither the npm
    core's standard library nor PyPI's wheels carry any: that was half of the kernel's
    start-up. A full release's files already carry theirs and get nothing added.
    """
    stdlib, site = startup_bytecode(out, served)
    if stdlib:
        add_files(out / STDLIB, stdlib)
    for key in served:
        entry = lock["packages"][key]
        wheel = out / entry["file_name"]
        with zipfile.ZipFile(wheel) as z:
            names = set(z.namelist())
        extra = {pyc: data for pyc, data in site.items() if pyc_source(pyc) in names}
        if extra:
            add_files(wheel, extra)
            entry["sha256"] = sha256(wheel)


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


def top_level_modules(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        tops = {name.split("/")[0] for name in z.namelist()}
    return sorted(
        top.removesuffix(".py")
        for top in tops
        if not top.endswith((".dist-info", ".data")) and (top.endswith(".py") or "." not in top)
    )


def lock_entry(wheel: Path, depends: list[str]) -> dict:
    name, version = wheel_name_version(wheel)
    return {
        "name": name,
        "version": version,
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": sha256(wheel),
        "package_type": "package",
        "imports": top_level_modules(wheel),
        "depends": depends,
        "unvendored_tests": False,
    }


def kernel_wheels() -> list[Path]:
    """The kernel's own wheels, as the npm package lists them in its piplite index."""
    index = NPM_KERNEL / "pypi" / "all.json"
    if not index.exists():
        raise SystemExit(f"{index} is missing: run `npm ci` in extension/frontend first")
    releases = json.loads(index.read_text())
    return [
        NPM_KERNEL / "pypi" / artifact["filename"]
        for package in releases.values()
        for release in package["releases"].values()
        for artifact in release
    ]


def build_pyodide(out: Path, release: Path | None, cdn: str, extras: list[Path]) -> list[str]:
    """The Pyodide folder; extras are the LOCK_EXTRAS wheels.

    Returns the names of the packages served from here.
    """
    source = release or NPM_PYODIDE
    if not (source / "pyodide-lock.json").exists():
        raise SystemExit(f"{source} has no pyodide-lock.json: run `npm ci` in lite/ first")
    out.mkdir(parents=True)
    for name in [*CORE_FILES, STDLIB]:
        shutil.copy2(source / name, out / name)
    lock = json.loads((source / "pyodide-lock.json").read_text())
    packages = lock["packages"]
    served = [
        key
        for key in closure(lock, LOCK_ROOTS)
        if (release and (release / packages[key]["file_name"]).exists())
        or "py3-none-any" in packages[key]["file_name"]
    ]
    for key in served:
        entry = packages[key]
        wheel = (
            release / entry["file_name"] if release else pypi_wheel(entry["name"], entry["version"])
        )
        shutil.copy2(wheel, out / wheel.name)
        entry["file_name"] = wheel.name
        entry["sha256"] = sha256(wheel)
    if "sqlite3" not in served:
        # Only in the full release. IPython carries on without it, so the kernel does not
        # ask for it at start (it would fail, or leave the server); `import sqlite3` in a
        # notebook still loads it from where the lock says.
        for key in served:
            packages[key]["depends"] = [d for d in packages[key]["depends"] if d != "sqlite3"]
    for wheel in extras:
        shutil.copy2(wheel, out / wheel.name)
        name, _ = wheel_name_version(wheel)
        packages[name] = lock_entry(out / wheel.name, LOCK_EXTRAS[name])
        served.append(name)
    if release:
        for wheel in sorted(release.glob("*.whl")) + sorted(release.glob("*.zip")):
            if not (out / wheel.name).exists():
                shutil.copy2(wheel, out / wheel.name)
    elif cdn:
        # Everything else (numpy, pandas, matplotlib, sqlite3, ...) loads from the CDN when
        # a notebook imports it; the kernel itself never needs it to start.
        for key, entry in packages.items():
            if key not in served:
                entry["file_name"] = cdn.rstrip("/") + "/" + entry["file_name"].rsplit("/")[-1]
    write_lock(out, lock)
    add_bytecode(out, lock, served)
    write_lock(out, lock)
    return served


def write_lock(out: Path, lock: dict) -> None:
    (out / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))


def magics_wheel(dest: Path) -> Path:
    """``jupyter-interview-magics``: only ``jupyter_interview.sandbox.magics`` and what it
    imports.

    The in-browser kernel loads it at start. piplite installs a wheel's requirements too,
    so it must not be the server's distribution: this one requires nothing (IPython is
    already in the kernel).
    """
    src = HERE.parent / "extension" / "jupyter_interview"
    version = re.search(r'__version__ = "([^"]+)"', (src / "__init__.py").read_text()).group(1)
    dist = f"jupyter_interview_magics-{version}.dist-info"
    files = {
        f"jupyter_interview/{name}": (src / name).read_bytes()
        for name in (
            "__init__.py",
            "sandbox/__init__.py",
            "sandbox/magics.py",
            "sandbox/pistonapi.py",
        )
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
    wheel = dest / f"jupyter_interview_magics-{version}-py3-none-any.whl"
    dest.mkdir(parents=True, exist_ok=True)
    write_wheel(wheel, files)
    return wheel


def piplite_entry(wheel: Path) -> dict:
    name, version = wheel_name_version(wheel)
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


def build_piplite(out: Path, wheels: list[Path]) -> None:
    out.mkdir(parents=True)
    index: dict = {}
    for wheel in wheels:
        shutil.copy2(wheel, out / wheel.name)
        index.update(piplite_entry(out / wheel.name))
    (out / "all.json").write_text(json.dumps(index, indent=1, sort_keys=True))


def precompress(folder: Path) -> None:
    """A .gz beside each file that gzip shrinks by a tenth or more (the wasm by two thirds).

    The server sends it to browsers that accept gzip: the same bytes, a third of the
    download, and no compression work per request.
    """
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        packed = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
        if len(packed) <= 0.9 * path.stat().st_size:
            path.with_name(path.name + ".gz").write_bytes(packed)


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
    sources = [
        *kernel_wheels(),
        *(pypi_wheel(name, version) for name, version in PYPI_EXTRAS.items()),
        magics_wheel(CACHE / "ours"),
    ]
    extras = [w for w in sources if wheel_name_version(w)[0] in LOCK_EXTRAS]
    served = build_pyodide(OUT / "pyodide", release, args.cdn, extras)
    # The piplite index serves the same bytes as the lock, bytecode included.
    index = [OUT / "pyodide" / w.name if w in extras else w for w in sources]
    build_piplite(OUT / "pypi", [*index, *args.wheel])
    precompress(OUT)
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file() and p.suffix != ".gz")
    print(f"lite/build: Pyodide core + {len(served)} packages, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

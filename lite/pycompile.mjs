// Compile what the kernel imports at start to bytecode, with the Python the browser runs:
// Pyodide's own, from node_modules, under Node. The build machine's Python is another
// version, and bytecode is only read by the version that wrote it.
//
// Usage: node pycompile.mjs PYODIDE_DIR STDLIB_DIR OUT_DIR MODULES PACKAGES
//   PYODIDE_DIR  the built pyodide/ folder (its lock and wheels, still without bytecode)
//   STDLIB_DIR   python_stdlib.zip, unpacked
//   OUT_DIR      gets stdlib/X.pyc (beside X.py: what zipimport reads) and
//                site/.../__pycache__/X.cpython-3NN.pyc (what site-packages reads)
//   MODULES      what the kernel imports at start, comma-separated
//   PACKAGES     the packages it loads first, comma-separated
//
// Only modules imported at start are compiled: the rest (hundreds of pygments lexers, for
// one) would double the downloads for nothing. The .pyc files are unchecked-hash pycs:
// never compared with the source (file times change when the browser unpacks a wheel),
// and the same source gives the same bytes.
import { resolve } from 'node:path';

import { loadPyodide } from './node_modules/pyodide/pyodide.mjs';

const [pyodideDir, stdlibDir, outDir, modules, packages] = process.argv.slice(2);
if (!packages) {
  console.error('usage: node pycompile.mjs PYODIDE_DIR STDLIB_DIR OUT_DIR MODULES PACKAGES');
  process.exit(2);
}
// A fixed hash seed: sets in the bytecode come out in the same order on every build.
const pyodide = await loadPyodide({
  indexURL: resolve(pyodideDir) + '/',
  env: { PYTHONHASHSEED: '0' }
});
await pyodide.loadPackage(packages.split(','), { messageCallback: () => {} });
for (const [dir, mount] of [
  [stdlibDir, '/stdlib'],
  [outDir, '/out']
]) {
  pyodide.FS.mkdirTree(mount);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: resolve(dir) }, mount);
}
pyodide.globals.set('modules', modules.split(','));
pyodide.runPython(`
import importlib
import importlib.util
import os
import py_compile
import sys

for module in modules:
    importlib.import_module(module)

stdlib = f"/lib/python{sys.version_info.major}{sys.version_info.minor}.zip/"
site = next(path for path in sys.path if path.endswith("/site-packages")) + "/"
for module in list(sys.modules.values()):
    shown = getattr(module, "__file__", None) or ""
    if not shown.endswith(".py"):
        continue
    if shown.startswith(stdlib):
        source = "/stdlib/" + shown.removeprefix(stdlib)
        target = "/out/stdlib/" + shown.removeprefix(stdlib) + "c"
    elif shown.startswith(site):
        source = shown
        target = "/out/site/" + importlib.util.cache_from_source(shown).removeprefix(site)
    else:
        continue
    os.makedirs(os.path.dirname(target), exist_ok=True)
    py_compile.compile(
        source,
        cfile=target,
        dfile=shown,
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
`);

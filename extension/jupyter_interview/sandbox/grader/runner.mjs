// The grading runner: one submission's code cells, then each hidden test, in Pyodide under
// Node, in a process that the server starts inside its sandbox (see sandbox/grading.py):
// no network (a network namespace of its own), no files but Pyodide's (Node's permission
// model), no child processes, no code generated from strings, bounded memory and time.
//
// Usage: node [sandbox flags] runner.mjs PYODIDE_DIR SNAPSHOT RESULTS_FD < job.json
//   SNAPSHOT: a memory snapshot of a started Pyodide (snapshot.mjs), if the file exists
//   RESULTS_FD: the file descriptor the results go to (never stdout, which the
//     submission can reach through Emscripten's console)
//   job: {nonce, cells: [source], tests: [{code, returns}], packages: [name],
//         cell_timeout_ms, test_timeout_ms, output_limit}
//   out: one JSON object a line, each with the job's nonce: {event: "started"},
//        {event: "cell", ...} per cell, {event: "test", index, ...} per test, in order,
//        and {event: "done"}. A test is known here by its number only: its name, which
//        the submission could read from a frame's file name, stays in the server.
//
// A call test (`returns`) only reports the value its call returned, as a Python literal:
// the server compares it with the value it expects, which never comes here. The verdict
// of a statement test is the runner's, never the notebook's: it passes when its code ran
// to its end without an exception. Code runs through the `compile` and `exec` builtins
// taken before the submission ran (not through Pyodide's runPython, whose Python half a
// submission can replace). Nothing Python prints reaches the results (its output is
// captured, and the results go to their own descriptor, with a nonce). Before each test
// the runner puts back the builtins, the standard modules' attributes, the tracing and
// profiling hooks and the standard streams as they were before the submission ran, and the
// test runs in a copy of the notebook's namespace without the names that hide builtins,
// with builtins of its own, as the body of a function whose every name is a parameter:
// the submission's function, running inside the test, changes the builtins module or the
// namespace's dict, never the test's own locals. The guard (guard.py), an audit hook put in before
// the submission runs, refuses what could rewrite a test's code or reach its frame.
import { constants, existsSync, readFileSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

// What the runner relies on, taken before any submission code runs. Python can reach some
// of the language's shared objects (Object, Array.prototype: through a value it converts),
// so the results are written with these saved functions, from plain fields, in plain loops.
const [pyodideDir, snapshot, resultsFd] = process.argv.slice(2);
const fd = Number(resultsFd);
const write = text => writeSync(fd, text); // synchronous: nothing is lost at exit
const stringify = JSON.stringify;
const keysOf = Object.keys;
const now = performance.now.bind(performance);
let nonce = '';
function emit(record) {
  const keys = keysOf(record);
  let line = '{"nonce":' + stringify(nonce);
  for (let i = 0; i < keys.length; i++) {
    line += ',' + stringify(keys[i]) + ':' + stringify(record[keys[i]]);
  }
  write(line + '}\n');
}

// Emscripten's Node file system asks process.binding for fs constants, which the
// permission model refuses; that is all it asks for.
process.binding = name => {
  if (name === 'constants') {
    return { fs: constants };
  }
  throw new Error(`process.binding(${name}) is not available`);
};
// V8 hands Error.prepareStackTrace the stack's frames and their receivers.
Object.defineProperty(Error, 'prepareStackTrace', {
  value: undefined,
  writable: false,
  configurable: false
});

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
nonce = String(job.nonce);
const limit = job.output_limit ?? 4000;

let captured = '';
const capture = text => {
  if (captured.length < limit) {
    captured += text + '\n';
  }
};
const take = () => {
  const text = captured.length > limit ? captured.slice(0, limit) + '\n[output cut]' : captured;
  captured = '';
  return text;
};

const started = now();
const { loadPyodide } = await import(new URL('pyodide.mjs', `file://${pyodideDir}/`).href);
const pyodide = await loadPyodide({
  indexURL: `${pyodideDir}/`,
  jsglobals: Object.create(null), // `import js` reaches nothing of the runner
  env: { HOME: '/home/pyodide', PYTHONHASHSEED: '0' },
  stdout: capture,
  stderr: capture,
  ...(snapshot && existsSync(snapshot) ? { _loadSnapshot: readFileSync(snapshot) } : {})
});
// A fatal error inside Python (a JavaScript stack overflow under deep C recursion, say)
// unwinds through WebAssembly without running Python's `finally` blocks, the guard's
// included, and Pyodide goes on quietly after the first one: nothing after it is trusted,
// so the run ends there and says why.
pyodide._api.on_fatal = error => {
  emit({ event: 'fatal', message: String(error?.message ?? error).slice(0, 300) });
  process.exit(70);
};
if (job.packages?.length) {
  await pyodide.loadPackage(job.packages, { messageCallback: () => undefined });
}
pyodide.unregisterJsModule('pyodide_js');
pyodide.unregisterJsModule('js');
// [0]: Pyodide's interrupt buffer; [1]: how many times the clock has fired.
const buffer = new SharedArrayBuffer(8);
const clockView = new Int32Array(buffer);
pyodide.setInterruptBuffer(clockView);
const clock = new Worker(new URL('./timer.mjs', import.meta.url), { workerData: { buffer } });
clock.unref();

// The runtime's JavaScript API stays out of the submission's reach: it could rewrite how
// the runner calls Python, or write to the console.
pyodide.runPython(`
import sys
for _name in [n for n in sys.modules if n == "pyodide_js" or n.startswith("pyodide_js.")]:
    del sys.modules[_name]
del _name
`);
const get = code => pyodide.runPython(code);
const live = get('__import__("builtins").__dict__');
const dictType = get('dict');
const sys = get('__import__("sys")');
const settrace = get('__import__("sys").settrace');
const setprofile = get('__import__("sys").setprofile');
const stdout = get('__import__("sys").stdout');
const stderr = get('__import__("sys").stderr');
const recursion = get('__import__("sys").getrecursionlimit()');
const setRecursion = get('__import__("sys").setrecursionlimit');
const modulesDict = get('__import__("sys").modules');
// The builtins as they were, kept on this side: a Python dict would be within the
// submission's reach (gc.get_objects()).
const pristine = new Map();
for (const name of Array.from(live.keys())) {
  pristine.set(name, live.get(name));
}
const compile = pristine.get('compile');
const exec = pristine.get('exec');
const builtinNames = new Set(pristine.keys());
// The standard modules that tests lean on and the template's packages, attribute by
// attribute, and sys.modules itself.
const STANDARD = ['math', 're', 'collections', 'itertools', 'functools', 'operator', 'json',
  'string', 'statistics', 'random', 'dataclasses', 'typing', 'copy', 'heapq', 'bisect'];
const modules = new Map(); // name -> [module, Map(attribute -> value)]
for (const name of [...STANDARD, ...(job.packages ?? [])]) {
  try {
    const module = get(`__import__(${stringify(name)})`);
    const attributes = module.__dict__;
    const saved = new Map();
    for (const key of Array.from(attributes.keys())) {
      saved.set(key, attributes.get(key));
    }
    modules.set(name, [module, attributes, saved]);
  } catch {
    // not in this Pyodide: nothing to keep
  }
}
// The guard goes in last of all the runner's own Python, and before any of the submission.
const guardScope = dictType();
pyodide.runPython(readFileSync(new URL('./guard.py', import.meta.url), 'utf8'), {
  globals: guardScope
});
// Each test is prepared now, while every module is as Pyodide made it.
const preparedTests = pyodide.toPy(
  job.tests.map((test, index) => [test.code, `<test ${index + 1}>`, test.returns === true])
);
const guard = guardScope.get('install')(preparedTests).toJs({ depth: 1 });
preparedTests.destroy();
const [setPhase, runTest, refusedSoFar] = guard;
guardScope.destroy();
let refusedSeen = 0;
function newlyRefused() {
  const all = refusedSoFar().toJs();
  const fresh = all.slice(refusedSeen);
  refusedSeen = all.length;
  return fresh;
}

const main = dictType();
main.set('__name__', '__main__');

emit({ event: 'started', load_ms: Math.round(now() - started) });

function failed(type, message, began) {
  type = String(type).slice(0, 200);
  return {
    status: type === 'KeyboardInterrupt' ? 'timeout' : 'error',
    type,
    message: String(message).slice(0, 1000),
    duration_ms: Math.round(now() - began)
  };
}

function run(code, globals, phase, filename, ms, index = -1) {
  clock.postMessage(ms);
  const began = now();
  let returned;
  const fired = Atomics.load(clockView, 1);
  setPhase(phase, filename);
  try {
    if (phase === 'cell') {
      // Straight from here: a cell's frame has no Python frame above it to reach.
      const compiled = compile(code, filename, 'exec', 0, true);
      exec(compiled, globals);
      compiled.destroy();
    } else {
      // Through the guard, which prepared the test before the submission ran, and
      // describes a failure still in the test's phase.
      const answer = runTest(index, globals, filename);
      if (answer !== 'passed') {
        if (typeof answer !== 'object' || answer === null) {
          return failed('Error', 'The test stopped without an answer from the sandbox.', began);
        }
        const [type, message] = answer.toJs();
        answer.destroy();
        if (type !== true) {
          return failed(type, message, began);
        }
        returned = String(message); // a call test's value, as a literal
      }
    }
    // Code that outlived the clock and caught its interrupts did not finish in time.
    if (Atomics.load(clockView, 1) !== fired) {
      return failed('KeyboardInterrupt', 'over the time limit', began);
    }
    const duration = Math.round(now() - began);
    // Literals, not assignments: a setter on Object.prototype sees neither.
    return returned === undefined
      ? { status: 'ok', duration_ms: duration }
      : { status: 'ok', duration_ms: duration, returned };
  } catch (error) {
    const lines = String(error?.message ?? error).trim().split('\n');
    return failed(error?.type ?? 'Error', lines[lines.length - 1], began);
  } finally {
    setPhase('cell', '');
    clock.postMessage(0);
    Atomics.store(clockView, 0, 0);
  }
}

function restore() {
  for (const name of Array.from(live.keys())) {
    if (!builtinNames.has(name)) {
      live.delete(name);
    }
  }
  for (const name of builtinNames) {
    live.set(name, pristine.get(name));
  }
  for (const [name, [module, attributes, saved]] of modules) {
    modulesDict.set(name, module);
    for (const key of Array.from(attributes.keys())) {
      if (!saved.has(key)) {
        attributes.delete(key);
      }
    }
    for (const [key, value] of saved) {
      attributes.set(key, value);
    }
  }
  setPhase('reset', '');
  settrace(undefined);
  setprofile(undefined);
  setPhase('cell', '');
  sys.stdout = stdout;
  sys.stderr = stderr;
  setRecursion(recursion);
}

for (let index = 0; index < job.cells.length; index++) {
  const code = job.cells[index];
  const result = run(code, main, 'cell', `<cell ${index + 1}>`, job.cell_timeout_ms);
  emit({ event: 'cell', index, ...result, output: take(), refused: newlyRefused() });
}

for (let index = 0; index < job.tests.length; index++) {
  const test = job.tests[index];
  restore();
  // The guard makes the test's namespace from the notebook's, and its builtins.
  const filename = `<test ${index + 1}>`;
  const result = run(test.code, main, 'test', filename, job.test_timeout_ms, index);
  // A call test's verdict is the server's: this only says that it returned.
  const ok = test.returns === true ? 'returned' : 'pass';
  const status =
    result.status === 'ok' ? ok : result.type === 'AssertionError' ? 'fail' : result.status;
  const refused = newlyRefused();
  emit({ event: 'test', index, ...result, status, output: take(), refused });
}
emit({ event: 'done' });
process.exit(0);

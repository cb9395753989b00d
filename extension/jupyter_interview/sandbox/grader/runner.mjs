// The grading runner: one submission's code cells, then each hidden test, in Pyodide under
// Node, in a process that the server starts inside its sandbox (see sandbox/grading.py):
// no network (a network namespace of its own), no files but Pyodide's (Node's permission
// model), no child processes, no code generated from strings, bounded memory and time.
//
// Usage: node [sandbox flags] runner.mjs PYODIDE_DIR [SNAPSHOT] < job.json > results.jsonl
//   SNAPSHOT: a memory snapshot of a started Pyodide (snapshot.mjs), if there is one
//   job: {cells: [source], tests: [{name, code}], packages: [name],
//         cell_timeout_ms, test_timeout_ms, output_limit}
//   out: one JSON object a line: {event: "started"}, {event: "cell", ...} per cell,
//        {event: "test", ...} per test, {event: "done"}.
//
// The verdict of a test is the runner's, never the notebook's: a test passes when its code
// ran to its end without an exception. Nothing Python prints reaches the results (its
// output is captured); before each test the runner puts back the builtins, the tracing and
// profiling hooks and the standard streams as they were before the submission ran, and the
// test runs in a copy of the notebook's namespace without the names that hide builtins.
import { constants, existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

// What the runner relies on, taken before any submission code runs. Python can reach some
// of the language's shared objects (Object, Array.prototype: through a value it converts),
// so the results are written with these saved functions, from plain fields, in plain loops.
const write = process.stdout.write.bind(process.stdout);
const stringify = JSON.stringify;
const keysOf = Object.keys;
const now = performance.now.bind(performance);
function emit(record) {
  const keys = keysOf(record);
  let line = '{';
  for (let i = 0; i < keys.length; i++) {
    line += (i ? ',' : '') + stringify(keys[i]) + ':' + stringify(record[keys[i]]);
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

const [pyodideDir, snapshot] = process.argv.slice(2);
const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
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
if (job.packages?.length) {
  await pyodide.loadPackage(job.packages, { messageCallback: () => undefined });
}
pyodide.unregisterJsModule('pyodide_js');
const buffer = new SharedArrayBuffer(4);
pyodide.setInterruptBuffer(new Int32Array(buffer));
const clock = new Worker(new URL('./timer.mjs', import.meta.url), { workerData: { buffer } });
clock.unref();

pyodide.runPython('import builtins, sys; sys.modules.pop("pyodide_js", None)');
const get = code => pyodide.runPython(code);
const live = get('builtins.__dict__');
const dictType = get('dict');
const sys = get('sys');
const settrace = get('sys.settrace');
const setprofile = get('sys.setprofile');
const stdout = get('sys.stdout');
const stderr = get('sys.stderr');
const recursion = get('sys.getrecursionlimit()');
const setRecursion = get('sys.setrecursionlimit');
// The builtins as they were, kept on this side: a Python dict would be within the
// submission's reach (gc.get_objects()).
const pristine = new Map();
for (const name of Array.from(live.keys())) {
  pristine.set(name, live.get(name));
}
const builtinNames = new Set(pristine.keys());
const main = dictType();
main.set('__name__', '__main__');
emit({ event: 'started', load_ms: Math.round(now() - started) });

function run(code, globals, filename, ms) {
  clock.postMessage(ms);
  const began = now();
  try {
    pyodide.runPython(code, { globals, filename });
    return { status: 'ok', duration_ms: Math.round(now() - began) };
  } catch (error) {
    const type = String(error?.type ?? 'Error');
    const text = String(error?.message ?? error).trim().split('\n');
    return {
      status: type === 'KeyboardInterrupt' ? 'timeout' : 'error',
      type,
      message: text[text.length - 1].slice(0, 1000),
      duration_ms: Math.round(now() - began)
    };
  } finally {
    clock.postMessage(0);
    Atomics.store(new Int32Array(buffer), 0, 0);
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
  settrace(undefined);
  setprofile(undefined);
  sys.stdout = stdout;
  sys.stderr = stderr;
  setRecursion(recursion);
}

job.cells.forEach((code, index) => {
  const result = run(code, main, `<cell ${index + 1}>`, job.cell_timeout_ms);
  emit({ event: 'cell', index, ...result, output: take() });
});

for (const test of job.tests) {
  restore();
  const namespace = dictType(main);
  for (const name of Array.from(namespace.keys())) {
    if (builtinNames.has(name)) {
      namespace.delete(name);
    }
  }
  namespace.set('__name__', '__main__');
  const result = run(test.code, namespace, `<test ${test.name}>`, job.test_timeout_ms);
  const status =
    result.status === 'ok' ? 'pass' : result.type === 'AssertionError' ? 'fail' : result.status;
  emit({ event: 'test', name: test.name, ...result, status, output: take() });
  namespace.destroy();
}
emit({ event: 'done' });
process.exit(0);

/**
 * A promise from `Atomics.waitAsync`, always.
 *
 * The in-browser kernel's page talks to its worker through coincident 1.2.3 (as
 * jupyterlite-pyodide-kernel 0.7.2 does), which calls `Atomics.waitAsync(...).value.then`.
 * When the worker has already answered by the time the page starts waiting (the page's
 * thread paused a moment on a busy machine, the worker did not), the browser answers
 * synchronously, `{async: false, value: "not-equal"}`, and that `.then` throws: the cell's
 * execute call failed, no reply came, and the cell stayed `[*]` for good (issue 11).
 * A value that is already there is the same as a promise of it, so this hands coincident
 * one. It must run before coincident reads `Atomics.waitAsync`, hence its own module,
 * imported first by the plugin entry point.
 */
type WaitAsync = (
  typedArray: Int32Array,
  index: number,
  value: number,
  timeout?: number
) => { async: boolean; value: Promise<string> | string };

const atomics = Atomics as unknown as { waitAsync?: WaitAsync };
const native = atomics.waitAsync;
if (native) {
  atomics.waitAsync = (...args) => {
    const result = native.apply(Atomics, args);
    return result.async ? result : { async: true, value: Promise.resolve(result.value) };
  };
}

export {};

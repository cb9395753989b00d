// The grading runner's clock: Python blocks the runner's own thread while a cell or a test
// runs, so this thread writes SIGINT into Pyodide's interrupt buffer when time is up.
// Messages: a number of milliseconds to arm the clock for, 0 to disarm it.
import { parentPort, workerData } from 'node:worker_threads';

const SIGINT = 2;
const signal = new Int32Array(workerData.buffer);
let timer = null;
parentPort.on('message', ms => {
  clearTimeout(timer);
  timer = ms > 0 ? setTimeout(() => Atomics.store(signal, 0, SIGINT), ms) : null;
});

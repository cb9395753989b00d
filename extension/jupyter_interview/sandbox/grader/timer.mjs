// The grading runner's clock: Python blocks the runner's own thread while a cell or a test
// runs, so this thread writes SIGINT into Pyodide's interrupt buffer when time is up, and
// again every half second after, for code that catches the first KeyboardInterrupt.
// Messages: a number of milliseconds to arm the clock for, 0 to disarm it. Index 1 of the
// buffer counts the times it fired: code that swallows every interrupt still timed out.
import { parentPort, workerData } from 'node:worker_threads';

const SIGINT = 2;
const AGAIN_MS = 500;
const signal = new Int32Array(workerData.buffer);
let timer = null;
let again = null;
parentPort.on('message', ms => {
  clearTimeout(timer);
  clearInterval(again);
  timer = again = null;
  if (ms > 0) {
    timer = setTimeout(() => {
      Atomics.add(signal, 1, 1); // the runner's record that time ran out
      Atomics.store(signal, 0, SIGINT);
      again = setInterval(() => Atomics.store(signal, 0, SIGINT), AGAIN_MS);
    }, ms);
  }
});

// @jupyterlite/pyodide-kernel imports its wheels and their index (pypi/) as URLs: emit them
// as files beside the bundle.
module.exports = {
  module: {
    rules: [
      {
        test: /pypi\/.*/,
        type: 'asset/resource',
        generator: { filename: 'pypi/[name][ext][query]' }
      }
    ]
  },
  // The kernel's workers (upstream's and ours, both pre-bundled) keep Pyodide's
  // `import(pyodideUrl)` for `.mjs` builds, which webpack cannot follow. We load
  // `pyodide.js` with importScripts, so that path never runs.
  ignoreWarnings: [
    {
      module: /(pyodide|coincident|comlink)\.worker\.js$/,
      message: /the request of a dependency is an expression/
    }
  ]
};

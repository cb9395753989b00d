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
  }
};

"""Running code outside the browser: the Piston client, the room executor and the %%piston
magics. Importing this package imports nothing: the magics are also a wheel for Pyodide."""

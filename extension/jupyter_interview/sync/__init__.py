"""The live rooms: our rules on jupyter-collaboration's sync, the history store, recovery."""

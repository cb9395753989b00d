"""Server defaults for `jupyter interview` (loaded with --config; the command line wins).

The data directory's paths (root_dir, the Yjs store, the session and file-id files) are
derived from InterviewApp.data_dir by the extension itself, since they depend on it.
"""

c = get_config()  # type: ignore[name-defined]  # noqa: F821

c.InterviewApp.manage_server = True

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
# Candidates must never reach a shell; interviewers use their own machine for that.
c.ServerApp.terminals_enabled = False
c.LabApp.extension_manager = "readonly"
# Hidden files (the data directory's databases) are never served.
c.ContentsManager.allow_hidden = False

# jupyter-collaboration: save one second after typing pauses; keep documents in memory for
# a minute after the last client leaves, so a reconnecting browser finds its room.
c.YDocExtension.document_save_delay = 1.0
c.YDocExtension.document_cleanup_delay = 60.0
# Each open room polls its file for changes made outside the collaboration. Room notebooks
# only change through their room, and at 200 busy rooms the 1 s default cost a tenth of
# the server's CPU and doubled the sync p99 (bench/sync_load.py). A save still notices an
# outside change at once.
c.YDocExtension.file_poll_interval = 5.0

# The candidate page runs Python in the browser. Cross-origin isolation gives Pyodide
# SharedArrayBuffer, which input() and interrupts need; every asset is same-origin.
c.ServerApp.tornado_settings = {
    "headers": {
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Embedder-Policy": "require-corp",
    },
    "compress_response": True,
}

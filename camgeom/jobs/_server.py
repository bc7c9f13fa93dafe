"""Imported by the worker fork server (:func:`camgeom.jobs.backends.worker_context`).

Importing this module readies numba's compiler in the server
(:func:`camgeom._jit.prepare_compiler`), so every worker forked from it starts
with numba set up and loads only the compiled kernels it calls. Nothing else
should import it.
"""

from __future__ import annotations

import threading

from camgeom._jit import prepare_compiler

# A fork copies only the forking thread: the server must not have started others.
if threading.active_count() == 1:
    prepare_compiler()

"""Private numba kernels. Public, validating wrappers live in the modules of :mod:`camgeom`."""

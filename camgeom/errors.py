"""Exceptions raised by camgeom.

Every error camgeom raises on purpose is a :class:`CamgeomError`. Errors about
a bad value (a wrong shape, a NaN, a non-rigid matrix, an unknown name) are also
:class:`ValueError`, so ``except ValueError`` keeps working in user code.
"""

from __future__ import annotations

__all__ = [
    "CamgeomError",
    "ConventionError",
    "FormatError",
    "InvalidValueError",
    "ManifestError",
    "MissingChannelError",
    "MissingKeyError",
    "NonRigidPoseError",
    "OutputExistsError",
    "OutputFolderError",
    "OutputLockedError",
    "ShapeError",
    "UnknownVersionError",
]


class CamgeomError(Exception):
    """Base class of every error camgeom raises on purpose."""


class ShapeError(CamgeomError, ValueError):
    """An array has the wrong shape (the message names argument, expected and actual)."""


class InvalidValueError(CamgeomError, ValueError):
    """A value is out of its domain: NaN/inf, non-positive focal length, bad option."""


class NonRigidPoseError(InvalidValueError):
    """A pose matrix is not a rigid transform (rotation not orthonormal, det != +1, ...)."""


class ConventionError(InvalidValueError):
    """An unknown camera-axis convention, pose kind, pixel convention or depth kind."""


class FormatError(CamgeomError, ValueError):
    """A file cannot be read: corrupt, truncated, or not what its name says."""


class MissingKeyError(FormatError):
    """A metadata file lacks a key; the message names the file and the JSON path."""


class MissingChannelError(FormatError):
    """An image file lacks a requested channel; the message lists the channels it has."""


class UnknownVersionError(FormatError):
    """A metadata file declares a version this release does not know."""


class OutputExistsError(CamgeomError, FileExistsError):
    """An output file exists and overwriting was not asked for."""


class OutputFolderError(CamgeomError, OSError):
    """The output folder cannot be used: it is a file, or it cannot be created or written."""


class OutputLockedError(CamgeomError):
    """Another run is writing to the same output folder."""


class ManifestError(CamgeomError):
    """The manifest of an output folder is damaged or from an unknown version."""

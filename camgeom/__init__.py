"""camgeom: camera math for synthetic human datasets."""

from camgeom._version import __version__
from camgeom.errors import CamgeomError

__all__ = ["CamgeomError", "__version__"]

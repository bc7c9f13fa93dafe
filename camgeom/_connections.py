"""Landmark connection sets: which points to join with lines when drawing.

Each set is a tuple of ``(i, j)`` index pairs (0-based) into a landmark array.

* :data:`IBUG68_CONNECTIONS` -- the 68-point iBUG / 300-W layout: jaw (0-16),
  eyebrows (17-21, 22-26), nose bridge (27-30) and lower nose (31-35), eyes
  (36-41, 42-47, closed), outer lips (48-59, closed) and inner lips (60-67, closed).
* :data:`MEDIAPIPE468_CONNECTIONS` -- the MediaPipe face-mesh contours
  (``FACEMESH_CONTOURS`` of ``mediapipe/python/solutions/face_mesh_connections.py``):
  lips, eyes, eyebrows and face oval of the 468-point mesh, in MediaPipe's order.
* :data:`MEDIAPIPE_IRIS_CONNECTIONS` -- ``FACEMESH_IRISES``: the iris rings of the
  478-point refined mesh (points 468-477).
"""

from __future__ import annotations

__all__ = [
    "CONNECTION_SETS",
    "IBUG68_CONNECTIONS",
    "MEDIAPIPE468_CONNECTIONS",
    "MEDIAPIPE_IRIS_CONNECTIONS",
]

Pairs = tuple[tuple[int, int], ...]


def _chain(start: int, stop: int, *, closed: bool = False) -> Pairs:
    """Pairs joining ``start, start+1, ..., stop`` (and ``stop`` back to ``start``)."""
    pairs = tuple((i, i + 1) for i in range(start, stop))
    return (*pairs, (stop, start)) if closed else pairs


IBUG68_CONNECTIONS: Pairs = (
    _chain(0, 16)  # jaw
    + _chain(17, 21)  # right eyebrow (image left)
    + _chain(22, 26)  # left eyebrow
    + _chain(27, 30)  # nose bridge
    + _chain(31, 35)  # lower nose
    + _chain(36, 41, closed=True)  # right eye
    + _chain(42, 47, closed=True)  # left eye
    + _chain(48, 59, closed=True)  # outer lips
    + _chain(60, 67, closed=True)  # inner lips
)
"""Connections of the 68-point iBUG layout (0-based indices)."""

_LIPS: Pairs = (
    (61, 146), (146, 91), (91, 181), (181, 84), (84, 17), (17, 314), (314, 405), (405, 321),
    (321, 375), (375, 291), (61, 185), (185, 40), (40, 39), (39, 37), (37, 0), (0, 267),
    (267, 269), (269, 270), (270, 409), (409, 291), (78, 95), (95, 88), (88, 178), (178, 87),
    (87, 14), (14, 317), (317, 402), (402, 318), (318, 324), (324, 308), (78, 191), (191, 80),
    (80, 81), (81, 82), (82, 13), (13, 312), (312, 311), (311, 310), (310, 415), (415, 308),
)  # fmt: skip
_LEFT_EYE: Pairs = (
    (263, 249), (249, 390), (390, 373), (373, 374), (374, 380), (380, 381), (381, 382),
    (382, 362), (263, 466), (466, 388), (388, 387), (387, 386), (386, 385), (385, 384),
    (384, 398), (398, 362),
)  # fmt: skip
_LEFT_EYEBROW: Pairs = (
    (276, 283), (283, 282), (282, 295), (295, 285), (300, 293), (293, 334), (334, 296),
    (296, 336),
)  # fmt: skip
_RIGHT_EYE: Pairs = (
    (33, 7), (7, 163), (163, 144), (144, 145), (145, 153), (153, 154), (154, 155), (155, 133),
    (33, 246), (246, 161), (161, 160), (160, 159), (159, 158), (158, 157), (157, 173),
    (173, 133),
)  # fmt: skip
_RIGHT_EYEBROW: Pairs = (
    (46, 53), (53, 52), (52, 65), (65, 55), (70, 63), (63, 105), (105, 66), (66, 107),
)  # fmt: skip
_FACE_OVAL: Pairs = (
    (10, 338), (338, 297), (297, 332), (332, 284), (284, 251), (251, 389), (389, 356),
    (356, 454), (454, 323), (323, 361), (361, 288), (288, 397), (397, 365), (365, 379),
    (379, 378), (378, 400), (400, 377), (377, 152), (152, 148), (148, 176), (176, 149),
    (149, 150), (150, 136), (136, 172), (172, 58), (58, 132), (132, 93), (93, 234),
    (234, 127), (127, 162), (162, 21), (21, 54), (54, 103), (103, 67), (67, 109), (109, 10),
)  # fmt: skip
_LEFT_IRIS: Pairs = ((474, 475), (475, 476), (476, 477), (477, 474))
_RIGHT_IRIS: Pairs = ((469, 470), (470, 471), (471, 472), (472, 469))

MEDIAPIPE468_CONNECTIONS: Pairs = (
    _LIPS + _LEFT_EYE + _LEFT_EYEBROW + _RIGHT_EYE + _RIGHT_EYEBROW + _FACE_OVAL
)
"""MediaPipe face-mesh contours (``FACEMESH_CONTOURS``): 124 pairs, indices < 468."""

MEDIAPIPE_IRIS_CONNECTIONS: Pairs = _LEFT_IRIS + _RIGHT_IRIS
"""MediaPipe iris rings (``FACEMESH_IRISES``) of the 478-point mesh: indices 469-477."""

CONNECTION_SETS: dict[str, tuple[Pairs, tuple[int, ...]]] = {
    "ibug68": (IBUG68_CONNECTIONS, (68,)),
    "mediapipe468": (MEDIAPIPE468_CONNECTIONS, (468, 478)),
}
"""Named sets: name -> (pairs, accepted point counts). With 478 points the
``mediapipe468`` set also draws :data:`MEDIAPIPE_IRIS_CONNECTIONS`."""

"""Small rigid-body maths on numpy arrays.

Conventions everywhere in robotschool: metres, radians, quaternions in PyBullet's (x, y, z, w) order,
right-handed frames with x forward, y left, z up. Written out here (rather than depending on scipy) because
these few functions sit in the control loop and must be fast on single poses.
"""
from __future__ import annotations

import math

import numpy as np

# `clip(a, lo, hi)` is `np.clip(a, lo, hi)` with both bounds given, bit for bit: np.clip's own kernel (np.clip
# checks for a missing bound and then calls exactly this ufunc) without its ~3 us of Python dispatch per call.
# The live control path clips ~25 times per tick (tests/unit/test_actions_retarget.py checks it against
# np.clip, NaN, -0.0 and infinities included).
try:  # numpy >= 2
    from numpy._core import umath as _umath
except ImportError:  # numpy 1.x
    from numpy.core import umath as _umath
clip = _umath.clip


def quat_to_matrix(q) -> np.ndarray:
    x, y, z, w = q
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz, wx, wy, wz = x * y, x * z, y * z, w * x, w * y, w * z
    return np.array([
        [1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)],
        [2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx)],
        [2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)],
    ])


def matrix_to_quat(m) -> np.ndarray:
    """Rotation matrix -> unit quaternion (x, y, z, w) with w >= 0."""
    t = m[0, 0] + m[1, 1] + m[2, 2]
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    q = np.asarray(q)
    q /= math.sqrt(q.dot(q))      # = np.linalg.norm(q), bit for bit
    return -q if q[3] < 0 else q


def axis_angle_matrix(axis, angle: float) -> np.ndarray:
    """Rodrigues' formula for a unit axis."""
    x, y, z = axis
    c, s = math.cos(angle), math.sin(angle)
    C = 1 - c
    return np.array([
        [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
        [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
        [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
    ])


def rpy_matrix(r: float, p: float, y: float) -> np.ndarray:
    """URDF roll-pitch-yaw (fixed axes x, y, z) -> matrix Rz(y) Ry(p) Rx(r)."""
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


def rotation_error(r_target: np.ndarray, r_current: np.ndarray) -> np.ndarray:
    """World-frame rotation vector that takes r_current to r_target (small-angle exact via log map)."""
    r = r_target @ r_current.T
    cos = max(-1.0, min(1.0, (r[0, 0] + r[1, 1] + r[2, 2] - 1) / 2))
    angle = math.acos(cos)
    v = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if angle < 1e-9:
        return 0.5 * v
    if angle > math.pi - 1e-6:  # near pi: axis from the symmetric part
        axis = np.sqrt(np.clip((np.diag(r) + 1) / 2, 0, None))
        axis *= np.sign(v) + (v == 0)
        n = np.linalg.norm(axis)
        return axis / n * angle if n > 0 else np.zeros(3)
    return v * (angle / (2 * math.sin(angle)))


def angle_between(r_a: np.ndarray, r_b: np.ndarray) -> float:
    """Geodesic angle in radians between two rotation matrices."""
    cos = (np.trace(r_a @ r_b.T) - 1) / 2
    return math.acos(max(-1.0, min(1.0, cos)))


def matrix_to_rot6d(m: np.ndarray) -> np.ndarray:
    """Continuous 6-D rotation representation (Zhou et al. 2019): first two columns, each in [-1, 1]."""
    return np.concatenate([m[:, 0], m[:, 1]])


def rot6d_to_matrix(d) -> np.ndarray:
    """Gram-Schmidt back to a proper rotation matrix; tolerant of unnormalised input."""
    a, b = np.asarray(d[:3], dtype=np.float64), np.asarray(d[3:6], dtype=np.float64)
    x = a / max(math.sqrt(a.dot(a)), 1e-12)      # = np.linalg.norm, bit for bit, without its overhead
    b = b - x * (x @ b)
    y = b / max(math.sqrt(b.dot(b)), 1e-12)
    (x0, x1, x2), (y0, y1, y2) = x.tolist(), y.tolist()
    # x cross y written out in np.cross's own operation order (same bits, a tenth of its cost: a control-loop hot spot)
    return np.array([[x0, y0, x1 * y2 - x2 * y1], [x1, y1, x2 * y0 - x0 * y2], [x2, y2, x0 * y1 - x1 * y0]])


def quat_multiply(a, b) -> np.ndarray:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ])


def yaw_quat(yaw: float) -> np.ndarray:
    return np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])


def quat_yaw(q) -> float:
    """Heading of the frame's x axis in the xy-plane: the inverse of `yaw_quat`, and for a tilted frame (a
    tray held a little crooked) still where its x axis points, unlike 2*atan2(qz, qw)."""
    x, y, z, w = q
    return math.atan2(2 * (x * y + w * z), 1 - 2 * (y * y + z * z))    # atan2(R[1, 0], R[0, 0]) of quat_to_matrix


def transform(pos, m) -> np.ndarray:
    """4x4 homogeneous transform from a position and a rotation matrix."""
    t = np.eye(4)
    t[:3, :3] = m
    t[:3, 3] = pos
    return t

"""Forward kinematics and Jacobians of one serial chain, read straight from a URDF.

Why not PyBullet's own IK or link states: `calculateInverseKinematics` solves the whole tree and ignores joint
limits, and link queries go through the physics client, whose state IK must never touch (determinism). A
chain read from the URDF, in numpy, is exact, independent of the simulation, and works for any robot whose
arms are revolute/prismatic chains, which is what a bring-your-own-robot YAML provides.

Poses are in the frame of the chain's root link (the robot base link).
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from robotschool import geometry

_EYE = np.eye(3)


@dataclass(frozen=True)
class UrdfJoint:
    name: str
    kind: str                 # revolute | continuous | prismatic | fixed
    parent: str
    child: str
    origin_pos: np.ndarray
    origin_rot: np.ndarray
    axis: np.ndarray
    lower: float
    upper: float
    velocity: float
    effort: float


@lru_cache(maxsize=16)
def parse_urdf_joints(path: str) -> dict[str, UrdfJoint]:
    """All joints of a URDF keyed by child link name (a tree has one parent joint per link)."""
    root = ET.parse(path).getroot()
    joints: dict[str, UrdfJoint] = {}
    for j in root.iter("joint"):
        origin = j.find("origin")
        xyz = [float(v) for v in (origin.get("xyz", "0 0 0") if origin is not None else "0 0 0").split()]
        rpy = [float(v) for v in (origin.get("rpy", "0 0 0") if origin is not None else "0 0 0").split()]
        axis_el = j.find("axis")
        axis = np.array([float(v) for v in axis_el.get("xyz").split()]) if axis_el is not None else np.array([1.0, 0, 0])
        norm = np.linalg.norm(axis)
        axis = axis / norm if norm > 0 else np.array([1.0, 0, 0])   # fixed joints may say axis="0 0 0"
        lim = j.find("limit")
        kind = j.get("type")
        lower = float(lim.get("lower", -math.pi)) if lim is not None else -math.pi
        upper = float(lim.get("upper", math.pi)) if lim is not None else math.pi
        if kind == "continuous":
            lower, upper = -math.pi * 2, math.pi * 2
        child = j.find("child").get("link")
        joints[child] = UrdfJoint(
            name=j.get("name"), kind=kind, parent=j.find("parent").get("link"), child=child,
            origin_pos=np.array(xyz), origin_rot=geometry.rpy_matrix(*rpy), axis=axis, lower=lower, upper=upper,
            velocity=float(lim.get("velocity", 0) or 0) if lim is not None else 0.0,
            effort=float(lim.get("effort", 0) or 0) if lim is not None else 0.0,
        )
    return joints


class KinematicChain:
    """The movable joints from `base_link` to `tip_link`, with fixed transforms folded together.

    `joint_names` lists the chain's movable joints from base to tip; `fk(q)` takes one value per joint in
    that order. `tip_offset` is an extra fixed transform at the tip (e.g. the tool centre point).
    """

    def __init__(self, urdf_path: str | Path, base_link: str, tip_link: str):
        joints = parse_urdf_joints(str(Path(urdf_path).resolve()))
        path: list[UrdfJoint] = []
        link = tip_link
        while link != base_link:
            if link not in joints:
                raise ValueError(f"{urdf_path}: no chain from link {base_link!r} to {tip_link!r} (stuck at {link!r})")
            j = joints[link]
            path.append(j)
            link = j.parent
        path.reverse()
        self.joint_names: list[str] = []
        self._pre: list[tuple[np.ndarray, np.ndarray]] = []  # fixed (pos, rot) before each movable joint
        self._axis: list[np.ndarray] = []
        self._prismatic: list[bool] = []
        lower, upper = [], []
        acc_p, acc_r = np.zeros(3), np.eye(3)
        for j in path:
            # fold this joint's origin into the accumulated fixed transform
            acc_p, acc_r = acc_p + acc_r @ j.origin_pos, acc_r @ j.origin_rot
            if j.kind == "fixed":
                continue
            self.joint_names.append(j.name)
            self._pre.append((acc_p, acc_r))
            self._axis.append(j.axis)
            self._prismatic.append(j.kind == "prismatic")
            lower.append(j.lower)
            upper.append(j.upper)
            acc_p, acc_r = np.zeros(3), np.eye(3)
        self._post = (acc_p, acc_r)
        # Rodrigues terms per joint: R(q) = I + sin(q) K + (1 - cos(q)) K^2 (precomputed: the loop is hot)
        self._k = [np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]]) for a in self._axis]
        self._k2 = [k @ k for k in self._k]
        self._prism_mask = np.array(self._prismatic, dtype=bool)
        self._pre_axis = [pr @ a for (_, pr), a in zip(self._pre, self._axis)]
        self._pre_k = [pr @ k for (_, pr), k in zip(self._pre, self._k)]
        self._pre_k2 = [pr @ k2 for (_, pr), k2 in zip(self._pre, self._k2)]
        self.lower = np.array(lower)
        self.upper = np.array(upper)
        self.n = len(self.joint_names)
        self._memo_key: bytes | None = None     # fk_jacobian's last input and answer (see there)
        self._memo: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def fk(self, q) -> tuple[np.ndarray, np.ndarray]:
        """Tip position (3,) and rotation matrix (3, 3) in the base link frame."""
        p, r = np.zeros(3), np.eye(3)
        for (pp, pr), axis, k, k2, prism, qi in zip(self._pre, self._axis, self._k, self._k2, self._prismatic, q):
            p = p + r @ pp
            r = r @ pr
            if prism:
                p = p + r @ (axis * qi)
            else:
                r = r @ (_EYE + math.sin(qi) * k + (1.0 - math.cos(qi)) * k2)
        pp, pr = self._post
        return p + r @ pp, r @ pr

    def fk_jacobian(self, q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tip position, rotation and the 6 x n geometric Jacobian (linear rows first) in the base frame.

        The last answer is kept (read-only arrays) and returned again for the same q, bit for bit: a live
        control loop computes the IK's starting point (the measured joints) before it samples the operator's
        device (ArmIK.prepare), so the solve after the sample starts from a ready answer.
        """
        q = np.asarray(q, dtype=np.float64)
        key = q.tobytes()
        if key == self._memo_key:
            return self._memo
        p, r = np.zeros(3), np.eye(3)
        origins = np.empty((self.n, 3))
        axes = np.empty((self.n, 3))
        for i, ((pp, pr), pa, prk, prk2, prism, qi) in enumerate(
                zip(self._pre, self._pre_axis, self._pre_k, self._pre_k2, self._prismatic, q)):
            p = p + r @ pp
            origins[i] = p
            axes[i] = r @ pa
            if prism:
                p = p + axes[i] * qi
                r = r @ pr
            else:  # r @ pr @ R(q), with pr folded into the Rodrigues terms ahead of time
                r = r @ (pr + math.sin(qi) * prk + (1.0 - math.cos(qi)) * prk2)
        pp, pr = self._post
        tip_p, tip_r = p + r @ pp, r @ pr
        d = tip_p - origins
        z = axes
        lin = np.empty((self.n, 3))  # z x d, written out (np.cross costs ~35 us a call)
        lin[:, 0] = z[:, 1] * d[:, 2] - z[:, 2] * d[:, 1]
        lin[:, 1] = z[:, 2] * d[:, 0] - z[:, 0] * d[:, 2]
        lin[:, 2] = z[:, 0] * d[:, 1] - z[:, 1] * d[:, 0]
        jac = np.empty((6, self.n))
        jac[:3] = np.where(self._prism_mask[:, None], z, lin).T
        jac[3:] = np.where(self._prism_mask[:, None], 0.0, z).T
        for a in (tip_p, tip_r, jac):
            a.flags.writeable = False
        self._memo_key, self._memo = key, (tip_p, tip_r, jac)
        return self._memo

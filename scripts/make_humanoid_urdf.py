"""Generate configs/robots/humanoid.urdf from primitive shapes.

Usage:
    python scripts/make_humanoid_urdf.py [--out configs/robots/humanoid.urdf]

Why a generator: the humanoid is built from boxes, cylinders and spheres whose sizes are anthropometric
(a 1.67 m adult). Keeping the numbers here, in one table, and writing a plain URDF means the package itself
only ever loads a URDF, exactly like a bring-your-own robot, and the model can be inspected with any URDF tool.

Frames: x forward, y left, z up. The root link `base` sits on the floor under the pelvis; every link's
inertial frame coincides with its link frame (so PyBullet's base and link frames agree with the URDF).
At zero joint angles the arms hang straight down with the fingers pointing at the floor.
"""
from __future__ import annotations

import argparse
from pathlib import Path

# (name, mass kg) and sizes in metres. Anthropometry after Winter, "Biomechanics of Human Movement".
PELVIS_Z = 0.90
PELVIS = (0.18, 0.28, 0.14)          # box x, y, z
TORSO = (0.20, 0.34, 0.42)           # chest box above the waist joint
SHOULDER_Y = 0.205                   # half shoulder width (joint centre)
SHOULDER_Z = 0.40                    # above the waist joint
UPPER_ARM = 0.30
FOREARM = 0.27
HAND = 0.09                          # wrist centre to palm end
FINGER_LEN = 0.06
FINGER_OPEN = 0.055                  # per finger travel: 0.11 m max opening
TCP_FROM_PALM = 0.045                # grasp centre between the fingertips
THIGH = 0.39
SHANK = 0.38
FOOT_H = 0.06
HEAD_R = 0.10

ARM_LIMITS = {  # left arm; the right arm mirrors roll and yaw signs
    "shoulder_pitch": (-3.0, 1.0, 150.0, 3.0),
    "shoulder_roll": (-0.9, 2.8, 150.0, 3.0),   # with the arm raised this is horizontal adduction
    "shoulder_yaw": (-2.2, 2.2, 80.0, 3.5),
    "elbow": (-2.6, 0.0, 80.0, 3.5),
    "wrist_yaw": (-2.6, 2.6, 30.0, 4.5),
    "wrist_pitch": (-1.4, 1.4, 30.0, 4.5),
    "wrist_roll": (-1.2, 1.2, 30.0, 4.5),
}


def _inertia_box(m, x, y, z):
    return (m * (y * y + z * z) / 12, m * (x * x + z * z) / 12, m * (x * x + y * y) / 12)


def _inertia_cyl(m, r, h):
    side = m * (3 * r * r + h * h) / 12
    return (side, side, m * r * r / 2)


class Urdf:
    def __init__(self, name: str):
        self.parts = [f'<?xml version="1.0"?>\n<robot name="{name}">']
        self.colors = {
            "shell": "0.86 0.87 0.89 1", "joint": "0.22 0.24 0.28 1", "accent": "0.10 0.45 0.85 1",
            "finger": "0.15 0.15 0.15 1", "visor": "0.05 0.05 0.08 1",
        }
        for c, rgba in self.colors.items():
            self.parts.append(f'  <material name="{c}"><color rgba="{rgba}"/></material>')

    def link(self, name, mass=0.0, shapes=(), inertia=None):
        """shapes: (geometry xml, xyz, rpy, material, collide)."""
        out = [f'  <link name="{name}">']
        if mass > 0:
            ixx, iyy, izz = inertia
            out.append(f'    <inertial><origin xyz="0 0 0"/><mass value="{mass:.4f}"/>'
                       f'<inertia ixx="{ixx:.6f}" ixy="0" ixz="0" iyy="{iyy:.6f}" iyz="0" izz="{izz:.6f}"/></inertial>')
        for geom, xyz, rpy, mat, collide in shapes:
            origin = f'<origin xyz="{xyz}" rpy="{rpy}"/>'
            out.append(f'    <visual>{origin}<geometry>{geom}</geometry><material name="{mat}"/></visual>')
            if collide:
                out.append(f'    <collision>{origin}<geometry>{geom}</geometry></collision>')
        out.append('  </link>')
        self.parts.append("\n".join(out))

    def joint(self, name, kind, parent, child, xyz="0 0 0", rpy="0 0 0", axis="0 0 1", limit=None):
        out = [f'  <joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>'
               f'<origin xyz="{xyz}" rpy="{rpy}"/>']
        if kind != "fixed":
            out.append(f'<axis xyz="{axis}"/>')
        if limit is not None:
            lo, hi, effort, vel = limit
            out.append(f'<limit lower="{lo}" upper="{hi}" effort="{effort}" velocity="{vel}"/>')
            out.append('<dynamics damping="0.5" friction="0.0"/>')
        out.append('</joint>')
        self.parts.append("".join(out))

    def text(self):
        return "\n".join(self.parts + ["</robot>\n"])


def box(x, y, z):
    return f'<box size="{x} {y} {z}"/>'


def cyl(r, h):
    return f'<cylinder radius="{r}" length="{h}"/>'


def sphere(r):
    return f'<sphere radius="{r}"/>'


def add_arm(u: Urdf, side: str, parent: str, shoulder_xyz: str) -> None:
    """A 7-DoF arm with a parallel two-finger gripper on `parent` (shared by every robot made here).

    Links and joints are named <side>_shoulder_pitch ... <side>_wrist_roll, <side>_hand, <side>_finger_{1,2},
    <side>_tcp, so robot YAMLs and the ready posture carry over between robots.
    """
    sy = 1.0 if side == "left" else -1.0
    lim = dict(ARM_LIMITS)
    if sy < 0:  # mirror: roll and yaw change sign
        for key in ("shoulder_roll", "shoulder_yaw", "wrist_yaw", "wrist_roll"):
            lo, hi, e, v = lim[key]
            lim[key] = (-hi, -lo, e, v)
    chain = [("shoulder_pitch", "0 1 0"), ("shoulder_roll", "1 0 0"), ("shoulder_yaw", "0 0 1")]
    origin = shoulder_xyz
    for i, (jn, axis) in enumerate(chain):
        child = f"{side}_{jn}_link" if i < 2 else f"{side}_upper_arm"
        u.joint(f"{side}_{jn}", "revolute", parent, child, xyz=origin, axis=axis, limit=lim[jn])
        if i < 2:
            u.link(child, 0.4, [(sphere(0.05), "0 0 0", "0 0 0", "joint", False)], (4e-4, 4e-4, 4e-4))
        origin = "0 0 0"
        parent = child
    u.link(f"{side}_upper_arm", 2.0, [(cyl(0.045, UPPER_ARM - 0.04), f"0 0 {-UPPER_ARM / 2}", "0 0 0", "shell", True)],
           _inertia_cyl(2.0, 0.045, UPPER_ARM))
    u.joint(f"{side}_elbow", "revolute", f"{side}_upper_arm", f"{side}_forearm", xyz=f"0 0 {-UPPER_ARM}",
            axis="0 1 0", limit=lim["elbow"])
    u.link(f"{side}_forearm", 1.4, [
        (cyl(0.038, FOREARM - 0.03), f"0 0 {-FOREARM / 2}", "0 0 0", "shell", True),
        (sphere(0.045), "0 0 0", "0 0 0", "joint", False),
    ], _inertia_cyl(1.4, 0.038, FOREARM))
    u.joint(f"{side}_wrist_yaw", "revolute", f"{side}_forearm", f"{side}_wrist_yaw_link", xyz=f"0 0 {-FOREARM}",
            axis="0 0 1", limit=lim["wrist_yaw"])
    u.link(f"{side}_wrist_yaw_link", 0.2, [(sphere(0.032), "0 0 0", "0 0 0", "joint", False)], (1e-4, 1e-4, 1e-4))
    u.joint(f"{side}_wrist_pitch", "revolute", f"{side}_wrist_yaw_link", f"{side}_wrist_pitch_link",
            axis="0 1 0", limit=lim["wrist_pitch"])
    u.link(f"{side}_wrist_pitch_link", 0.1, [], (5e-5, 5e-5, 5e-5))
    u.joint(f"{side}_wrist_roll", "revolute", f"{side}_wrist_pitch_link", f"{side}_hand",
            axis="1 0 0", limit=lim["wrist_roll"])
    # palm: fingers close along the hand's y axis and point along -z
    u.link(f"{side}_hand", 0.5, [
        (box(0.05, 0.12, HAND - 0.02), f"0 0 {-(HAND - 0.02) / 2 - 0.02}", "0 0 0", "joint", True),
        (box(0.052, 0.04, 0.02), f"0 0 {-0.03}", "0 0 0", "accent", False),
    ], _inertia_box(0.5, 0.05, 0.12, HAND))
    for k, fy in ((1, 1.0), (2, -1.0)):
        u.joint(f"{side}_finger_{k}", "prismatic", f"{side}_hand", f"{side}_finger_{k}_link",
                xyz=f"0 0 {-HAND}", axis=f"0 {fy} 0", limit=(0.0, FINGER_OPEN, 40.0, 0.25))
        u.link(f"{side}_finger_{k}_link", 0.05, [
            (box(0.024, 0.012, FINGER_LEN), f"0 {fy * 0.006} {-FINGER_LEN / 2}", "0 0 0", "finger", True),
        ], _inertia_box(0.05, 0.024, 0.012, FINGER_LEN))
    u.joint(f"{side}_tcp_joint", "fixed", f"{side}_hand", f"{side}_tcp", xyz=f"0 0 {-(HAND + TCP_FROM_PALM)}")
    u.link(f"{side}_tcp", 0.01, [], (1e-6, 1e-6, 1e-6))

def build() -> str:
    u = Urdf("robotschool_humanoid")
    u.link("base", 0.1, [], (1e-4, 1e-4, 1e-4))
    u.joint("base_to_pelvis", "fixed", "base", "pelvis", xyz=f"0 0 {PELVIS_Z}")
    u.link("pelvis", 8.0, [(box(*PELVIS), "0 0 0", "0 0 0", "shell", True)], _inertia_box(8.0, *PELVIS))
    u.joint("waist_yaw", "revolute", "pelvis", "torso", xyz="0 0 0.06", axis="0 0 1", limit=(-1.0, 1.0, 200.0, 2.0))
    u.link("torso", 20.0, [
        (box(*TORSO), f"0 0 {TORSO[2] / 2 + 0.02}", "0 0 0", "shell", True),
        (box(0.01, 0.16, 0.10), f"{TORSO[0] / 2} 0 {TORSO[2] * 0.65}", "0 0 0", "accent", False),
    ], _inertia_box(20.0, *TORSO))
    # head: yaw then pitch, camera mount link at the visor
    u.joint("head_yaw", "revolute", "torso", "neck", xyz=f"0 0 {SHOULDER_Z + 0.04}", axis="0 0 1",
            limit=(-1.4, 1.4, 20.0, 3.0))
    u.link("neck", 0.6, [(cyl(0.045, 0.08), "0 0 0.04", "0 0 0", "joint", False)], _inertia_cyl(0.6, 0.045, 0.08))
    u.joint("head_pitch", "revolute", "neck", "head", xyz="0 0 0.07", axis="0 1 0", limit=(-0.6, 0.9, 20.0, 3.0))
    u.link("head", 4.0, [
        (sphere(HEAD_R), f"0 0 {HEAD_R}", "0 0 0", "shell", True),
        (box(0.03, 0.15, 0.05), f"{HEAD_R - 0.01} 0 {HEAD_R + 0.01}", "0 0 0", "visor", False),
    ], (0.016, 0.016, 0.016))
    u.joint("head_camera_mount", "fixed", "head", "head_camera", xyz=f"{HEAD_R + 0.01} 0 {HEAD_R + 0.01}")
    u.link("head_camera", 0.01, [], (1e-6, 1e-6, 1e-6))

    for side, sy in (("left", 1.0), ("right", -1.0)):
        add_arm(u, side, "torso", f"0 {sy * SHOULDER_Y} {SHOULDER_Z}")

        # legs: hip yaw/roll/pitch, knee, ankle pitch/roll
        hip = f"0 {sy * 0.09} -0.06"
        parent = "pelvis"
        for i, (jn, axis, lo, hi) in enumerate([("hip_yaw", "0 0 1", -0.6, 0.6), ("hip_roll", "1 0 0", -0.4, 0.4),
                                                ("hip_pitch", "0 1 0", -1.8, 0.6)]):
            child = f"{side}_{jn}_link" if i < 2 else f"{side}_thigh"
            u.joint(f"{side}_{jn}", "revolute", parent, child, xyz=hip if i == 0 else "0 0 0", axis=axis,
                    limit=(lo, hi, 300.0, 4.0))
            if i < 2:
                u.link(child, 0.5, [], (5e-4, 5e-4, 5e-4))
            parent = child
        u.link(f"{side}_thigh", 6.5, [(cyl(0.065, THIGH - 0.04), f"0 0 {-THIGH / 2}", "0 0 0", "shell", True)],
               _inertia_cyl(6.5, 0.065, THIGH))
        u.joint(f"{side}_knee", "revolute", f"{side}_thigh", f"{side}_shank", xyz=f"0 0 {-THIGH}", axis="0 1 0",
                limit=(0.0, 2.4, 300.0, 5.0))
        u.link(f"{side}_shank", 3.5, [
            (cyl(0.05, SHANK - 0.04), f"0 0 {-SHANK / 2}", "0 0 0", "shell", True),
            (sphere(0.06), "0 0 0", "0 0 0", "joint", False),
        ], _inertia_cyl(3.5, 0.05, SHANK))
        u.joint(f"{side}_ankle_pitch", "revolute", f"{side}_shank", f"{side}_ankle_link", xyz=f"0 0 {-SHANK}",
                axis="0 1 0", limit=(-0.8, 0.8, 150.0, 5.0))
        u.link(f"{side}_ankle_link", 0.3, [], (2e-4, 2e-4, 2e-4))
        u.joint(f"{side}_ankle_roll", "revolute", f"{side}_ankle_link", f"{side}_foot", axis="1 0 0",
                limit=(-0.4, 0.4, 150.0, 5.0))
        u.link(f"{side}_foot", 1.0, [(box(0.24, 0.10, FOOT_H), f"0.04 0 {-(PELVIS_Z - 0.06 - THIGH - SHANK) + FOOT_H / 2}",
                                      "0 0 0", "joint", True)], _inertia_box(1.0, 0.24, 0.10, FOOT_H))
    return u.text()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "configs/robots/humanoid.urdf"))
    args = ap.parse_args()
    Path(args.out).write_text(build())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Generate configs/robots/wheeled_dual_arm.urdf: a holonomic wheeled base, a torso lift, two 7-DoF arms.

Like the wheeled dual-arm platforms in the training ground (a mobile base with a lifting column): the arms
and the head are the humanoid's (scripts/make_humanoid_urdf.py: same joint names, limits and gripper), so a
demo can be re-targeted between the two robots, but the body is different: a 0.55 m x 0.50 m chassis on four
wheels that extends behind the torso (never in front of it, so the robot can drive up to a bench as close as
a person stands), and a prismatic torso lift that moves the shoulders between 1.06 m and 1.41 m.

Frames: x forward, y left, z up; the root link `base` is on the floor under the torso column.

    python scripts/make_wheeled_dual_arm_urdf.py [--out configs/robots/wheeled_dual_arm.urdf]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_humanoid_urdf import HEAD_R, SHOULDER_Y, Urdf, _inertia_box, _inertia_cyl, add_arm, box, cyl, sphere  # noqa: E402

CHASSIS = (0.55, 0.50, 0.22)      # x, y, z
CHASSIS_X = -0.155                # chassis centre behind the column: front edge at x = +0.12
CLEARANCE = 0.06                  # chassis underside above the floor
WHEEL_R = 0.08
WHEEL_W = 0.05
COLUMN = (0.14, 0.20, 0.62)
LIFT_Z = 0.86                     # torso frame height at lift 0
LIFT_RANGE = (0.0, 0.35)
TORSO = (0.20, 0.38, 0.30)
SHOULDER_UP = 0.20                # shoulders above the torso frame


def build() -> str:
    u = Urdf("robotschool_wheeled_dual_arm")
    u.link("base", 0.1, [], (1e-4, 1e-4, 1e-4))
    cz = CLEARANCE + CHASSIS[2] / 2
    u.joint("base_to_chassis", "fixed", "base", "chassis", xyz=f"{CHASSIS_X} 0 {cz}")
    u.link("chassis", 40.0, [
        (box(*CHASSIS), "0 0 0", "0 0 0", "shell", True),
        (box(CHASSIS[0] + 0.01, CHASSIS[1] + 0.01, 0.03), f"0 0 {-CHASSIS[2] / 2 + 0.03}", "0 0 0", "joint", False),
        (box(0.01, 0.30, 0.05), f"{CHASSIS[0] / 2} 0 0.04", "0 0 0", "accent", False),
    ], _inertia_box(40.0, *CHASSIS))
    for name, sx, sy in (("front_left", 1, 1), ("front_right", 1, -1), ("rear_left", -1, 1), ("rear_right", -1, -1)):
        wx = sx * (CHASSIS[0] / 2 - WHEEL_R - 0.02)
        wy = sy * (CHASSIS[1] / 2 + WHEEL_W / 2 + 0.005)
        u.joint(f"{name}_wheel", "continuous", "chassis", f"{name}_wheel_link",
                xyz=f"{wx} {wy} {WHEEL_R - cz}", axis="0 1 0", limit=(-1e9, 1e9, 50.0, 30.0))
        u.link(f"{name}_wheel_link", 1.5, [
            (cyl(WHEEL_R, WHEEL_W), "0 0 0", "1.5708 0 0", "joint", True),
            (box(0.02, WHEEL_W + 0.004, WHEEL_R * 1.4), "0 0 0", "0 0 0", "accent", False),
        ], _inertia_cyl(1.5, WHEEL_R, WHEEL_W))
    col_z = CLEARANCE + CHASSIS[2] + COLUMN[2] / 2
    u.joint("base_to_column", "fixed", "base", "column", xyz=f"-0.03 0 {col_z}")
    u.link("column", 8.0, [(box(*COLUMN), "0 0 0", "0 0 0", "joint", True)], _inertia_box(8.0, *COLUMN))
    lo, hi = LIFT_RANGE
    u.joint("torso_lift", "prismatic", "column", "torso", xyz=f"0.03 0 {LIFT_Z - col_z}", axis="0 0 1",
            limit=(lo, hi, 2000.0, 0.1))
    u.link("torso", 15.0, [
        (box(*TORSO), f"0 0 {TORSO[2] / 2 + 0.02}", "0 0 0", "shell", True),
        (box(0.01, 0.18, 0.08), f"{TORSO[0] / 2} 0 {TORSO[2] * 0.6}", "0 0 0", "accent", False),
    ], _inertia_box(15.0, *TORSO))
    # pan/tilt head with the same joint and camera link names as the humanoid's
    u.joint("head_yaw", "revolute", "torso", "neck", xyz=f"0 0 {TORSO[2] + 0.04}", axis="0 0 1",
            limit=(-1.4, 1.4, 20.0, 3.0))
    u.link("neck", 0.5, [(cyl(0.035, 0.08), "0 0 0.04", "0 0 0", "joint", False)], _inertia_cyl(0.5, 0.035, 0.08))
    u.joint("head_pitch", "revolute", "neck", "head", xyz="0 0 0.08", axis="0 1 0", limit=(-0.6, 0.9, 20.0, 3.0))
    u.link("head", 2.0, [
        (box(0.12, 0.22, 0.10), f"0 0 {HEAD_R / 2}", "0 0 0", "shell", True),
        (box(0.02, 0.18, 0.04), f"0.06 0 {HEAD_R / 2}", "0 0 0", "visor", False),
        (sphere(0.015), f"0.07 0.05 {HEAD_R / 2}", "0 0 0", "accent", False),
        (sphere(0.015), f"0.07 -0.05 {HEAD_R / 2}", "0 0 0", "accent", False),
    ], (0.01, 0.01, 0.01))
    u.joint("head_camera_mount", "fixed", "head", "head_camera", xyz=f"0.07 0 {HEAD_R / 2}")
    u.link("head_camera", 0.01, [], (1e-6, 1e-6, 1e-6))
    for side, sy in (("left", 1.0), ("right", -1.0)):
        add_arm(u, side, "torso", f"0 {sy * SHOULDER_Y} {SHOULDER_UP}")
    return u.text()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "configs/robots/wheeled_dual_arm.urdf"))
    args = ap.parse_args()
    Path(args.out).write_text(build())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

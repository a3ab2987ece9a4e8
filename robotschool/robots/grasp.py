"""Grasp assist: a closed gripper whose two fingers both touch one object holds it with a fixed constraint.

Why: friction grasps of small steel parts in PyBullet at 240 Hz slip often enough to make long demos fail
for reasons that have nothing to do with the operator. Assisted grasping (as in iGibson/BEHAVIOR) keeps the
physical finger closing and the contact requirement, and replaces only the friction holding force by a
constraint. Turn it off per robot with `grasp_assist: false` in the robot YAML.

The attachment is simulation state: it is part of World.get_state() (per arm: attached body id or -1, and the
object's pose in the hand's inertial frame), so replays and re-renders reproduce it exactly.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from robotschool.types import ARMS, Pose

if TYPE_CHECKING:
    from robotschool.robots.base import Robot
    from robotschool.sim.world import World

_PER_ARM = 8  # body id, relative pos (3), relative quat (4)
CLOSE_THRESHOLD = 0.5
MAX_FORCE = 300.0


class GraspAssist:
    state_size = _PER_ARM * len(ARMS)

    def __init__(self, world: "World", robot: "Robot"):
        self.world = world
        self.robot = robot
        self.attached: dict[str, tuple[int, Pose] | None] = {arm: None for arm in ARMS}
        self._constraint: dict[str, int | None] = {arm: None for arm in ARMS}

    def held_body(self, arm: str) -> int | None:
        a = self.attached[arm]
        return None if a is None else a[0]

    def update(self, grips: dict[str, float]) -> None:
        """Attach or release per arm from the commanded grip and the current finger contacts."""
        for arm in ARMS:
            closed = grips[arm] >= CLOSE_THRESHOLD
            if self.attached[arm] is not None and not closed:
                self._detach(arm)
            elif self.attached[arm] is None and closed:
                body = self._pinched_body(arm)
                if body is not None:
                    self._attach(arm, body, self._relative_pose(arm, body))

    def _pinched_body(self, arm: str) -> int | None:
        p, robot = self.world.p, self.robot
        touching = []
        for link in robot.finger_idx[arm]:
            bodies = {c[2] for c in p.getContactPoints(bodyA=robot.body, linkIndexA=link) if c[2] != robot.body}
            touching.append(bodies)
        if len(touching) < 2:
            return None
        # a body the other hand holds may be taken too: two hands carry a tray, or hand a part over
        common = sorted(b for b in touching[0] & touching[1] if p.getDynamicsInfo(b, -1)[0] > 0)
        return common[0] if common else None

    def _hand_com(self, arm: str) -> Pose:
        s = self.world.p.getLinkState(self.robot.body, self.robot.hand_link[arm], computeForwardKinematics=True)
        return Pose(s[0], s[1])

    def _relative_pose(self, arm: str, body: int) -> Pose:
        pos, orn = self.world.p.getBasePositionAndOrientation(body)
        return self._hand_com(arm).inverse().compose(Pose(pos, orn))

    def _attach(self, arm: str, body: int, rel: Pose) -> None:
        p = self.world.p
        c = p.createConstraint(self.robot.body, self.robot.hand_link[arm], body, -1, p.JOINT_FIXED, [0, 0, 0],
                               rel.pos.tolist(), [0, 0, 0], rel.quat.tolist(), [0, 0, 0, 1])
        p.changeConstraint(c, maxForce=MAX_FORCE)
        self._constraint[arm] = c
        self.attached[arm] = (body, rel)

    def _detach(self, arm: str) -> None:
        if self._constraint[arm] is not None:
            self.world.p.removeConstraint(self._constraint[arm])
        self._constraint[arm] = None
        self.attached[arm] = None

    def get_state(self) -> np.ndarray:
        out = np.full(self.state_size, 0.0)
        for i, arm in enumerate(ARMS):
            a = self.attached[arm]
            k = i * _PER_ARM
            if a is None:
                out[k] = -1
            else:
                out[k] = a[0]
                out[k + 1:k + 4] = a[1].pos
                out[k + 4:k + 8] = a[1].quat
        return out

    def set_state(self, state: np.ndarray) -> None:
        for i, arm in enumerate(ARMS):
            k = i * _PER_ARM
            self._detach(arm)
            body = int(state[k])
            if body >= 0:
                self._attach(arm, body, Pose(state[k + 1:k + 4], state[k + 4:k + 8]))

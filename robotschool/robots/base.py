"""Robot: a URDF plus a RobotSpec, placed in a World. Knows nothing about devices or tasks.

It turns a RobotCommand (hand targets in its base frame) into joint targets with its two arm IK solvers,
sends them to the motors, and reports its observation. Any URDF whose arms are serial chains works through
the same code, which is how bring-your-own robots are supported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pybullet

from robotschool import geometry
from robotschool.control.actions import JointRange
from robotschool.control.ik import ArmIK, IKBudget, compiled_kernel
from robotschool.control.kinematics import KinematicChain, parse_urdf_joints
from robotschool.errors import ConfigError
from robotschool.recording import schema
from robotschool.robots.grasp import GraspAssist
from robotschool.robots.locomotion import BaseDriver
from robotschool.robots.spec import RobotSpec
from robotschool.sim.world import World
from robotschool.types import ARMS, JointTargets, Pose, RobotCommand


class Robot:
    """A two-armed robot built from `spec`. Call `build(world, base_pose)` once per (re)built world."""

    def __init__(self, spec: RobotSpec):
        self.spec = spec
        self.name = spec.name
        self.urdf = spec.urdf_path()
        urdf_joints = {j.name: j for j in parse_urdf_joints(str(self.urdf.resolve())).values()}
        for arm in ARMS:
            a = spec.arms[arm]
            grouped = [j for g in spec.groups.values() for j in g]
            extra = ([spec.torso_joint] if spec.torso_joint else []) + spec.head_joints + spec.gait.left + \
                spec.gait.right + spec.wheels.joints
            for jn in a.joints + a.gripper.joints + list(spec.home) + list(spec.limits) + grouped + extra:
                if jn not in urdf_joints:
                    raise ConfigError(f"{spec.source}: joint {jn!r} is not in {self.urdf.name}")
        self.chains: dict[str, KinematicChain] = {}
        self.ik: dict[str, ArmIK] = {}
        for arm in ARMS:
            a = spec.arms[arm]
            try:
                chain = KinematicChain(self.urdf, spec.base_link, a.tcp_link)
            except ValueError as exc:
                raise ConfigError(f"{spec.source}: arms.{arm}: {exc}") from None
            lower, upper = self._limits(a.joints, urdf_joints)
            rest = np.array([spec.home.get(j, 0.0) for j in a.joints])
            self.chains[arm] = chain
            self.ik[arm] = ArmIK(chain, a.joints, lower, upper, rest, spec.ik)
        self.torso_range = self._joint_range(spec.torso_joint, urdf_joints) if spec.torso_joint else None
        self.head_range = tuple(self._joint_range(j, urdf_joints) for j in spec.head_joints) or None
        self.world: World | None = None
        self.body = -1
        self.driver: BaseDriver | None = None

    @property
    def mobile(self) -> bool:
        """True when the base moves (legged or wheeled): the env then drives it every physics substep."""
        return self.spec.base_type != "fixed"

    def _joint_range(self, joint: str, urdf_joints) -> JointRange:
        lo, hi = self.spec.limits.get(joint, (urdf_joints[joint].lower, urdf_joints[joint].upper))
        return JointRange(float(lo), float(hi), float(self.spec.home.get(joint, 0.0)))

    def _limits(self, joints: list[str], urdf_joints) -> tuple[np.ndarray, np.ndarray]:
        lo = [self.spec.limits.get(j, (urdf_joints[j].lower, urdf_joints[j].upper))[0] for j in joints]
        hi = [self.spec.limits.get(j, (urdf_joints[j].lower, urdf_joints[j].upper))[1] for j in joints]
        return np.array(lo), np.array(hi)

    # -- building ------------------------------------------------------------------------------------------
    def build(self, world: World, base_pose: Pose) -> None:
        """Load the URDF at `base_pose` (world frame of the base link), go to the home pose, set up motors."""
        p = world.p
        self.world = world
        flags = p.URDF_USE_INERTIA_FROM_FILE
        # every base type is fixed in PyBullet: mobile bases are moved kinematically (robots/locomotion.py)
        self.body = p.loadURDF(str(self.urdf), base_pose.pos.tolist(), base_pose.quat.tolist(),
                               useFixedBase=True, flags=flags)
        n = p.getNumJoints(self.body)
        info = [p.getJointInfo(self.body, j) for j in range(n)]
        self.joint_index = {i[1].decode(): i[0] for i in info}
        self.link_index = {i[12].decode(): i[0] for i in info}
        self.link_index[self.spec.base_link] = -1
        self.movable = [i[0] for i in info if i[2] in (p.JOINT_REVOLUTE, p.JOINT_PRISMATIC)]
        self.movable_names = [info[j][1].decode() for j in self.movable]
        position = {j: i for i, j in enumerate(self.movable)}   # joint index -> slot in joint_states()
        self._effort = {i[0]: max(float(i[10]), 1.0) * self.spec.gains.force_scale for i in info}
        self._max_vel = {i[0]: float(i[11]) if i[11] > 0 else 10.0 for i in info}
        self.arm_idx = {arm: [self.joint_index[j] for j in self.spec.arms[arm].joints] for arm in ARMS}
        self.chain_idx = {arm: [self.joint_index[j] for j in self.chains[arm].joint_names] for arm in ARMS}
        self.finger_idx = {arm: [self.joint_index[j] for j in self.spec.arms[arm].gripper.joints] for arm in ARMS}
        g = self.spec.gains    # each arm's motor forces and gains, built once (apply() runs every control tick)
        self._arm_motor = {arm: ([self._effort[j] for j in idx], [g.position_gain] * len(idx),
                                 [g.velocity_gain] * len(idx)) for arm, idx in self.arm_idx.items()}
        self._chain_slots = {arm: [position[j] for j in self.chain_idx[arm]] for arm in ARMS}
        self._finger_slots = {arm: [position[j] for j in self.finger_idx[arm]] for arm in ARMS}
        self.tcp_link = {arm: self.link_index[self.spec.arms[arm].tcp_link] for arm in ARMS}
        self.hand_link = {arm: self.link_index[self.spec.arms[arm].hand_link] for arm in ARMS}
        # base inertial offset: PyBullet reports base poses of the centre of mass, targets use the link frame
        dyn = p.getDynamicsInfo(self.body, -1)
        self._base_inertial = Pose(dyn[3], dyn[4])
        self.home_q = np.array([self.spec.home.get(name, 0.0) for name in self.movable_names])
        for j, q in zip(self.movable, self.home_q):
            p.resetJointState(self.body, j, float(q), 0.0)
        for j in self.movable:  # hold every joint at home; arms and grippers get new targets every tick
            p.setJointMotorControl2(self.body, j, p.POSITION_CONTROL, targetPosition=float(self.home_q[self.movable.index(j)]),
                                    force=self._effort[j], positionGain=self.spec.gains.position_gain,
                                    velocityGain=self.spec.gains.velocity_gain, maxVelocity=self._max_vel[j])
        for arm in ARMS:
            fingers = self.finger_idx[arm]
            for f in fingers:
                p.changeDynamics(self.body, f, lateralFriction=1.5, spinningFriction=0.01)
            if len(fingers) == 2:  # couple the fingers so they close symmetrically under load
                c = p.createConstraint(self.body, fingers[0], self.body, fingers[1], p.JOINT_GEAR, [0, 1, 0],
                                       [0, 0, 0], [0, 0, 0])
                p.changeConstraint(c, gearRatio=self.spec.arms[arm].gripper.gear_ratio, maxForce=100, erp=0.2)
        self.torso_idx = self.joint_index[self.spec.torso_joint] if self.spec.torso_joint else None
        self.head_idx = [self.joint_index[j] for j in self.spec.head_joints]
        for j in self.spec.wheels.joints:   # wheels are spun by the driver, not held by a motor
            p.setJointMotorControl2(self.body, self.joint_index[j], p.VELOCITY_CONTROL, force=0.0)
        self.grasp = GraspAssist(world, self) if self.spec.grasp_assist else None
        if self.grasp is not None:
            world.add_extension(self.grasp)
        self.driver = BaseDriver(self) if self.mobile else None
        if self.driver is not None:
            world.add_extension(self.driver)

    def ignore_collisions_with(self, body: int) -> None:
        """No contacts between any robot link and `body` (the floor: a kinematic base needs no footing)."""
        p = self.world.p
        for link in [-1, *range(p.getNumJoints(self.body))]:
            p.setCollisionFilterPair(self.body, body, link, -1, 0)

    def set_base_pose(self, pose: Pose) -> None:
        """Move the base link frame to `pose` (world); PyBullet places bodies by their centre of mass."""
        com = pose.compose(self._base_inertial)
        self.world.p.resetBasePositionAndOrientation(self.body, com.pos.tolist(), com.quat.tolist())

    def hold_joints(self, targets: dict[int, float]) -> None:
        """Position targets for joints outside the arms (legs, head, torso), by PyBullet joint index."""
        idx = list(targets)
        self.world.fn("setJointMotorControlArray")(
            self.body, idx, pybullet.POSITION_CONTROL, targetPositions=[targets[j] for j in idx],
            forces=[self._effort[j] for j in idx], positionGains=[self.spec.gains.position_gain] * len(idx),
            velocityGains=[self.spec.gains.velocity_gain] * len(idx))

    def substep(self, dt: float) -> None:
        """Before each physics substep: move a mobile base (no-op for a fixed one)."""
        if self.driver is not None:
            self.driver.substep(dt)

    # -- state queries -------------------------------------------------------------------------------------
    def base_pose(self) -> Pose:
        """World pose of the base link frame."""
        pos, orn = self.world.p.getBasePositionAndOrientation(self.body)
        return Pose(pos, orn).compose(self._base_inertial.inverse())

    def joint_states(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities of every movable joint, in `movable_names` order."""
        js = self.world.p.getJointStates(self.body, self.movable)
        return np.array([s[0] for s in js]), np.array([s[1] for s in js])

    def chain_q(self, arm: str, q_all: np.ndarray | None = None) -> np.ndarray:
        if q_all is None:
            q_all = self.joint_states()[0]
        return q_all[self._chain_slots[arm]]

    def tcp_pose(self, arm: str, q_all: np.ndarray | None = None) -> Pose:
        """Tool centre point in the robot base frame (from the measured joints and the URDF chain)."""
        p, r = self.chains[arm].fk(self.chain_q(arm, q_all))
        return Pose.from_matrix(p, r)

    def finger_q(self, arm: str, q_all: np.ndarray) -> np.ndarray:
        return q_all[self._finger_slots[arm]]

    def link_world_pose(self, link: str) -> Pose:
        idx = self.link_index[link]
        if idx == -1:
            return self.base_pose()
        s = self.world.p.getLinkState(self.body, idx, computeForwardKinematics=True)
        return Pose(s[4], s[5])

    def observe(self) -> dict[str, np.ndarray]:
        """Proprioception: joint state, TCP poses and finger openings in the base frame, base pose in world."""
        q, qd = self.joint_states()
        obs: dict[str, np.ndarray] = {}
        for arm in ARMS:
            tcp = self.tcp_pose(arm, q)
            obs[schema.OBS_EEF_POS.format(arm=arm)] = tcp.pos
            obs[schema.OBS_EEF_QUAT.format(arm=arm)] = tcp.quat
            obs[schema.OBS_GRIPPER_QPOS.format(arm=arm)] = self.finger_q(arm, q)
        obs[schema.OBS_JOINT_POS] = q
        obs[schema.OBS_JOINT_VEL] = qd
        base = self.base_pose()
        obs[schema.OBS_BASE_POSE] = np.concatenate([base.pos, base.quat])
        obs[schema.OBS_BASE_VEL] = self.driver.vel.copy() if self.driver is not None else np.zeros(3)
        return obs

    # -- control -------------------------------------------------------------------------------------------
    def grip_to_finger(self, arm: str, grip: float) -> float:
        g = self.spec.arms[arm].gripper
        return g.open + float(geometry.clip(grip, 0.0, 1.0)) * (g.closed - g.open)

    def solve(self, command: RobotCommand, budget: IKBudget | None = None,
              q_all: np.ndarray | None = None) -> JointTargets:
        """IK for both hands from the measured joint positions (stateless, so replays are exact).
        `budget` caps the solver's work (live teleop, control/ik.py IKBudget); None is the full batch solve.
        `q_all`: the measured positions if the caller already read them since the last physics step (prepare).

        A moving torso lift is taken where it is measured (solving for its commanded end position instead was
        tried: the arm then swings through joint space and the hands stray further); the lift is slow (URDF
        velocity limit), so the hands lag its motion by a few millimetres.
        """
        if q_all is None:
            q_all = self.joint_states()[0]
        torso = command.torso
        if torso is not None and self.torso_range is not None:
            torso = float(geometry.clip(torso, self.torso_range.low, self.torso_range.high))
        results = {arm: self.ik[arm].solve(command.hand(arm).pose, self.chain_q(arm, q_all), budget=budget)
                   for arm in ARMS}
        grips = {}
        for arm in ARMS:
            g = command.hand(arm).grip
            grips[arm] = float(geometry.clip(g, 0.0, 1.0)) if np.isfinite(g) else 0.0
        head = command.head
        if head is not None and self.head_range is not None:
            head = tuple(float(geometry.clip(v, r.low, r.high)) for v, r in zip(head, self.head_range))
        return JointTargets({a: r.q for a, r in results.items()}, grips, results, command.base_twist, head, torso)

    def prepare(self, q_all: np.ndarray | None = None, budget: IKBudget | None = None) -> np.ndarray:
        """Before a live loop samples its device: compute each arm's IK starting point from the measured joints
        (ArmIK.prepare), so the sample -> joint targets path does only the work that depends on the sample.
        Returns the measured joint positions, for the solve that follows (valid until the next physics step)."""
        if q_all is None:
            q_all = self.joint_states()[0]
        for arm in ARMS:
            self.ik[arm].prepare(self.chain_q(arm, q_all), budget)
        return q_all

    def compile_ik(self, budget: IKBudget | None) -> None:
        """Get the budget's IK kernel ready before a live loop starts (ArmIK.compile); no effect on the physics."""
        if not compiled_kernel(budget):
            return
        q_all = self.joint_states()[0]
        for arm in ARMS:
            self.ik[arm].compile(budget, self.chain_q(arm, q_all))

    def apply(self, targets: JointTargets) -> None:
        """Send joint targets to the motors (they hold them through the physics substeps)."""
        motors, position = self.world.fn("setJointMotorControlArray"), pybullet.POSITION_CONTROL
        for arm in ARMS:
            forces, kp, kd = self._arm_motor[arm]
            motors(self.body, self.arm_idx[arm], position, targetPositions=targets.arm_q[arm].tolist(),
                   forces=forces, positionGains=kp, velocityGains=kd)
            fingers = self.finger_idx[arm]
            target = self.grip_to_finger(arm, targets.grip[arm])
            force = self.spec.arms[arm].gripper.force
            motors(self.body, fingers, position, targetPositions=[target] * len(fingers), forces=[force] * len(fingers))
        held: dict[int, float] = {}
        if self.head_idx:
            head = targets.head or tuple(r.home for r in self.head_range)
            held.update(zip(self.head_idx, head))
        if self.torso_idx is not None:
            held[self.torso_idx] = self.torso_range.home if targets.torso is None else targets.torso
        if held:
            self.hold_joints(held)
        if self.driver is not None:
            self.driver.set_command(targets.base_twist)

    def after_control_tick(self, targets: JointTargets) -> None:
        if self.grasp is not None:
            self.grasp.update(targets.grip)


def load_robot(name_or_path: str) -> Robot:
    """A registered robot by name (configs/robots/<name>.yaml), or any robot YAML by path."""
    from robotschool.registry import ROBOTS
    from robotschool.robots.spec import load_spec

    if name_or_path.endswith((".yaml", ".yml")):
        if not Path(name_or_path).is_file():
            raise ConfigError(f"robot file {name_or_path} not found")
        return Robot(load_spec(name_or_path))
    cls = ROBOTS.get(name_or_path)
    return cls()


__all__ = ["Robot", "load_robot"]

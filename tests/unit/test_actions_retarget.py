"""Action encoding and retargeting: pure functions on poses, no physics."""
from __future__ import annotations

import numpy as np
import pytest

from robotschool import geometry
from robotschool.control.actions import DIM, ActionCodec
from robotschool.control.retarget import Retargeter, RetargetSettings
from robotschool.types import HandCommand, HandTarget, OperatorCommand, Pose, RobotCommand

WS = {"left": (np.array([0.0, -0.3, 0.7]), np.array([0.8, 0.8, 1.7])),
      "right": (np.array([0.0, -0.8, 0.7]), np.array([0.8, 0.3, 1.7]))}
MAX_BASE = (0.5, 0.3, 1.0)


def _random_command(rng) -> RobotCommand:
    hands = {}
    for arm in ("left", "right"):
        lo, hi = WS[arm]
        axis = rng.normal(size=3)
        rot = geometry.axis_angle_matrix(axis / np.linalg.norm(axis), rng.uniform(-3, 3))
        hands[arm] = HandTarget(Pose.from_matrix(rng.uniform(lo, hi), rot), float(rng.uniform()))
    return RobotCommand(hands["left"], hands["right"], tuple(rng.uniform(-1, 1, 3) * MAX_BASE))


def test_actions_are_in_unit_box_and_decode_back():
    codec = ActionCodec(WS, MAX_BASE)
    rng = np.random.default_rng(0)
    for _ in range(200):
        cmd = _random_command(rng)
        a = codec.encode(cmd)
        assert a.shape == (DIM,) and a.dtype == np.float32 and np.all(np.abs(a) <= 1)
        back = codec.decode(a)
        for arm in ("left", "right"):
            assert np.allclose(back.hand(arm).pose.pos, cmd.hand(arm).pose.pos, atol=2e-6)
            assert geometry.angle_between(back.hand(arm).pose.rot, cmd.hand(arm).pose.rot) < 1e-5
            assert abs(back.hand(arm).grip - cmd.hand(arm).grip) < 1e-6
        assert np.allclose(back.base_twist, cmd.base_twist, atol=1e-6)
        # re-encoding the decoded command gives the same action (up to float32 rounding)
        assert np.max(np.abs(codec.encode(codec.decode(a)) - a)) < 1e-6


def test_decode_rejects_wrong_shape_and_passes_nan_on():
    codec = ActionCodec(WS, MAX_BASE)
    with pytest.raises(ValueError, match="expected"):
        codec.decode(np.zeros(7, dtype=np.float32))
    a = np.zeros(DIM, dtype=np.float32)
    a[0] = np.nan
    assert not codec.decode(a).left.pose.is_finite()   # IK then holds the arm and flags it


def _retargeter(**kw) -> Retargeter:
    r = Retargeter(WS, MAX_BASE, RetargetSettings(**kw))
    r.reset({"left": Pose([0.3, 0.2, 1.1], [0, 0, 0, 1]), "right": Pose([0.3, -0.2, 1.1], [0, 0, 0, 1])})
    return r


def test_absolute_pose_passes_through_and_grip_is_clipped():
    r = _retargeter()
    out = r(OperatorCommand(left=HandCommand(pose=Pose([0.4, 0.1, 1.0], [0, 0, 0, 1]), grip=1.7)))
    assert np.allclose(out.left.pose.pos, [0.4, 0.1, 1.0]) and out.left.grip == 1.0
    assert np.allclose(out.right.pose.pos, [0.3, -0.2, 1.1])   # no command: the right hand holds


def test_delta_is_scaled_and_accumulates():
    r = _retargeter(scale=0.5)
    step = OperatorCommand(left=HandCommand(delta=Pose([0.02, 0, 0], [0, 0, 0, 1])))
    for _ in range(3):
        out = r(step)
    assert np.allclose(out.left.pose.pos, [0.3 + 3 * 0.01, 0.2, 1.1])


def test_clutch_released_holds_the_hand():
    r = _retargeter()
    out = r(OperatorCommand(left=HandCommand(pose=Pose([0.6, 0.0, 1.3], [0, 0, 0, 1]), clutch=False)))
    assert np.allclose(out.left.pose.pos, [0.3, 0.2, 1.1])


def test_calibration_maps_operator_frame_to_base_frame():
    calib = Pose([0.1, 0.0, 0.9], geometry.yaw_quat(np.pi / 2))   # operator frame turned 90 degrees
    r = _retargeter(calibration=calib)
    out = r(OperatorCommand(left=HandCommand(pose=Pose([0.2, 0.0, 0.2], [0, 0, 0, 1]))))
    assert np.allclose(out.left.pose.pos, [0.1, 0.2, 1.1])


def test_workspace_clamp_and_nan_rejection():
    r = _retargeter()
    out = r(OperatorCommand(left=HandCommand(pose=Pose([5.0, 0.0, 1.0], [0, 0, 0, 1]))))
    assert out.left.pose.pos[0] == WS["left"][1][0] and r.clamped["left"]
    held = out.left.pose.pos.copy()
    out = r(OperatorCommand(left=HandCommand(pose=Pose([np.nan, 0, 1], [0, 0, 0, 1]))))
    assert np.array_equal(out.left.pose.pos, held)
    out = r(OperatorCommand(base_twist=(9.0, float("nan"), -9.0)))
    assert out.base_twist == (0.5, 0.0, -1.0)


def test_geometry_clip_is_np_clip_bit_for_bit():
    """geometry.clip (np.clip's kernel without its dispatch, used on the live control path) gives exactly what
    np.clip gives, on arrays and scalars, with NaN, infinities and signed zeros."""
    rng = np.random.default_rng(0)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300])
    a = np.concatenate([rng.normal(0, 2, 5000), specials])
    lo, hi = rng.normal(-1, 0.5, a.size), rng.normal(1, 0.5, a.size)
    for args in [(a, lo, hi), (a, -1, 1), (a, 0.0, 1.0), (a, -0.0, 0.0), (a.astype(np.float32), -1, 1)]:
        expected, got = np.clip(*args), geometry.clip(*args)
        assert got.dtype == expected.dtype
        assert expected.tobytes() == got.tobytes()
    for x in [0.5, -0.0, 2.0, float("nan"), -3.0]:
        assert np.asarray(np.clip(x, 0.0, 1.0)).tobytes() == np.asarray(geometry.clip(x, 0.0, 1.0)).tobytes()

"""robotschool.sim.assets / parts: furniture geometry, part settling, grasp metadata, client isolation."""
from __future__ import annotations

import math
import zlib

import numpy as np
import pybullet
import pytest
from pybullet_utils import bullet_client

from robotschool import geometry
from robotschool.sim import assets
from robotschool.sim.parts import PARTS, PartType, Prim, build_compound, make_gear

ALL_TYPES: dict[str, PartType] = {**PARTS, "gear_solid": make_gear(0.0)}


@pytest.fixture
def p():
    client = bullet_client.BulletClient(connection_mode=pybullet.DIRECT)
    client.setGravity(0, 0, -9.81)
    client.setPhysicsEngineParameter(fixedTimeStep=1 / 240, numSolverIterations=50)
    yield client
    client.disconnect()


def _yawed(p, quat, yaw):
    return p.multiplyTransforms([0, 0, 0], p.getQuaternionFromEuler([0, 0, yaw]), [0, 0, 0], quat)[1]


def _angle(q1, q2) -> float:
    return 2 * math.acos(min(1.0, abs(float(np.dot(q1, q2)))))


def _step(p, n):
    for _ in range(n):
        p.stepSimulation()


def test_registry_has_the_four_parts_with_sane_metadata():
    assert {"bolt", "nut", "gear", "bracket"} <= set(PARTS)
    expected_mass = {"bolt": 0.18, "nut": 0.06, "gear": 0.3, "bracket": 0.13}
    for name, m in expected_mass.items():
        t = PARTS[name]
        assert t.name == name
        assert 0.75 * m < t.default_mass < 1.25 * m, (name, t.default_mass)
        assert len(t.prims) <= 16  # PyBullet silently drops compound children beyond 16
        assert abs(np.linalg.norm(t.rest_quat) - 1) < 1e-9 and abs(np.linalg.norm(t.grasp_axis) - 1) < 1e-9
        assert len(t.default_rgba) == 4 and t.grasp_width > 0 and t.footprint_radius > 0


@pytest.mark.parametrize("name", sorted(ALL_TYPES))
def test_part_settles_at_rest_height(p, name):
    t = ALL_TYPES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    assets.ground(p)
    yaw = float(rng.uniform(-math.pi, math.pi))
    quat = _yawed(p, t.rest_quat, yaw)
    mass = t.default_mass * float(rng.uniform(0.7, 1.3))
    body = t.build(p, [0.1, -0.2, t.rest_height + 0.02], quat, mass, t.default_rgba, 0.6)
    assert p.getDynamicsInfo(body, -1)[0] == pytest.approx(mass)
    assert len(p.getCollisionShapeData(body, -1)) > 1  # really a compound
    _step(p, 240)
    pos, q = p.getBasePositionAndOrientation(body)
    assert np.all(np.isfinite(pos)) and np.all(np.isfinite(q))
    assert abs(pos[2] - t.rest_height) < 0.003, (name, pos[2], t.rest_height)
    assert math.degrees(_angle(q, quat)) < 3.0
    assert np.hypot(pos[0] - 0.1, pos[1] + 0.2) < 0.005
    lin, ang = p.getBaseVelocity(body)
    assert np.linalg.norm(lin) < 1e-3 and np.linalg.norm(ang) < 0.05


@pytest.mark.parametrize("name", sorted(ALL_TYPES))
def test_grasp_metadata_matches_geometry(p, name):
    t = ALL_TYPES[name]
    # part frame: build at the origin with identity orientation; the grasp point lies in its AABB
    body = t.build(p, [0, 0, 0], [0, 0, 0, 1], t.default_mass, t.default_rgba, 0.5)
    lo, hi = np.array(p.getAABB(body))
    assert np.all(lo <= t.grasp_point) and np.all(np.asarray(t.grasp_point) <= hi)
    p.removeBody(body)
    # at rest (yawed): rays from outside along +-grasp_axis towards the grasp point hit both contact faces
    yaw = 0.7
    quat = _yawed(p, t.rest_quat, yaw)
    pos = np.array([0.2, 0.1, t.rest_height])
    body = t.build(p, pos, quat, t.default_mass, t.default_rgba, 0.5)
    rot = geometry.quat_to_matrix(quat)
    gp = pos + rot @ np.asarray(t.grasp_point)
    axis = rot @ np.asarray(t.grasp_axis)
    assert abs(axis[2]) < 1e-6  # the fingers close horizontally
    starts = [gp + 0.2 * axis, gp - 0.2 * axis]
    hits = p.rayTestBatch(starts, [gp, gp])
    assert [h[0] for h in hits] == [body, body]
    a, b = (np.array(h[3]) for h in hits)
    assert abs(np.linalg.norm(a - b) - t.grasp_width) < 0.002
    assert min(a[2], b[2]) > 0.001  # fingertips stay above the surface the part rests on
    # footprint: horizontal rays towards the vertical axis through the origin, all around and at several
    # heights, find the part's outline; its farthest point is on the footprint circle (getAABB is no help:
    # for a compound it is the union of the children's rotated AABBs, far too loose)
    top = p.getAABB(body)[1][2]
    ang = np.linspace(0, 2 * math.pi, 240, endpoint=False)
    dirs = np.stack([np.cos(ang), np.sin(ang), np.zeros_like(ang)], axis=1)
    starts, ends = [], []
    for z in np.linspace(0.0005, top - 0.0005, 8):
        centre = np.array([pos[0], pos[1], z])
        starts += list(centre + 0.3 * dirs)
        ends += [centre] * len(dirs)
    hits = p.rayTestBatch(starts, ends)
    radii = [np.hypot(h[3][0] - pos[0], h[3][1] - pos[1]) for h in hits if h[0] == body]
    assert max(radii) <= t.footprint_radius + 1e-4
    assert max(radii) >= t.footprint_radius - 0.002

def test_more_than_16_children_is_refused(p):
    # PyBullet would silently keep only the first 16 children of a compound
    prims = [Prim("box", (0.01, 0.01, 0.01), (0.03 * i, 0.0, 0.0)) for i in range(17)]
    with pytest.raises(ValueError):
        build_compound(p, prims, (0, 0, 0), (0, 0, 0, 1), 0.1, (1, 1, 1, 1), 0.5)


def test_gear_bore_is_a_real_hole(p):
    t = PARTS["gear"]
    body = t.build(p, [0, 0, 0.5], [0, 0, 0, 1], t.default_mass, t.default_rgba, 0.5)
    through = p.rayTest([0, 0, 0.6], [0, 0, 0.4])[0]
    assert through[0] == -1  # a vertical ray down the axis passes through
    solid = make_gear(0.0).build(p, [0.2, 0, 0.5], [0, 0, 0, 1], 0.3, t.default_rgba, 0.5)
    hit = p.rayTest([0.2, 0, 0.6], [0.2, 0, 0.4])[0]
    assert hit[0] == solid and hit[3][2] == pytest.approx(0.506, abs=1e-4)
    assert body != solid


def test_table_top_surface_height(p):
    height, pos, yaw = 0.78, (0.4, -0.3), 0.5
    body = assets.table(p, (1.2, 0.6), height, pos, yaw, (0.5, 0.4, 0.3, 1))
    assert p.getDynamicsInfo(body, -1)[0] == 0.0
    c, s = math.cos(yaw), math.sin(yaw)
    for lx, ly in [(0, 0), (0.55, 0.25), (-0.55, -0.25)]:  # centre and near two corners of the top
        x, y = pos[0] + c * lx - s * ly, pos[1] + s * lx + c * ly
        hit = p.rayTest([x, y, 2.0], [x, y, -1.0])[0]
        assert hit[0] == body and hit[3][2] == pytest.approx(height, abs=1e-4)


def test_open_box_floor_height_and_holds_a_cube(p):
    assets.ground(p)
    inner, wall, pos, yaw = (0.2, 0.3, 0.1), 0.005, (0.3, 0.2, 0.05), 0.6
    box = assets.open_box(p, inner, wall, pos, yaw, (0.2, 0.3, 0.7, 1))
    hit = p.rayTest([pos[0], pos[1], 1.0], [pos[0], pos[1], -1.0])[0]
    assert hit[0] == box and hit[3][2] == pytest.approx(pos[2] + wall, abs=1e-4)
    half = 0.01
    cube = p.createMultiBody(0.05, p.createCollisionShape(p.GEOM_BOX, halfExtents=[half] * 3),
                             basePosition=[pos[0], pos[1], pos[2] + 0.2],
                             baseOrientation=p.getQuaternionFromEuler([0.3, 0.2, 0.1]))
    p.resetBaseVelocity(cube, [0.6, 0.4, 0], [0, 0, 0])  # throw it sideways: it hits a wall, stays inside
    _step(p, 480)
    cpos, cq = p.getBasePositionAndOrientation(cube)
    corners = np.array([[sx, sy, sz] for sx in (-half, half) for sy in (-half, half) for sz in (-half, half)])
    world = np.asarray(cpos) + corners @ geometry.quat_to_matrix(cq).T
    box_rot = geometry.quat_to_matrix(p.getQuaternionFromEuler([0, 0, yaw]))
    local = (world - np.asarray(pos)) @ box_rot  # into the container frame
    tol = 1e-3
    assert np.all(np.abs(local[:, 0]) <= inner[0] / 2 + tol) and np.all(np.abs(local[:, 1]) <= inner[1] / 2 + tol)
    assert local[:, 2].min() == pytest.approx(wall, abs=tol)


def test_dynamic_open_box_has_the_requested_mass(p):
    box = assets.open_box(p, (0.3, 0.2, 0.1), 0.004, (0, 0, 0), 0.0, (1, 1, 1, 1), mass=1.5)
    assert p.getDynamicsInfo(box, -1)[0] == pytest.approx(1.5)
    assert len(p.getCollisionShapeData(box, -1)) == 5


def test_label_plate_is_visual_only_on_the_front_wall(p):
    inner, wall, pos, yaw = (0.2, 0.3, 0.1), 0.005, (0.3, 0.2, 0.8), 0.4
    box = assets.open_box(p, inner, wall, pos, yaw, (0.2, 0.3, 0.7, 1))
    plate = assets.label_plate(p, pos, yaw, inner, wall, (1, 0.8, 0, 1))
    assert p.getCollisionShapeData(plate, -1) == ()
    ppos, pq = p.getBasePositionAndOrientation(plate)
    box_rot = geometry.quat_to_matrix(p.getQuaternionFromEuler([0, 0, yaw]))
    local = (np.asarray(ppos) - np.asarray(pos)) @ box_rot
    assert local[0] < -(inner[0] / 2 + wall) and abs(local[1]) < 1e-9 and wall < local[2] < wall + inner[2]
    # a ray from the front passes the plate and hits the wall's outer face
    start = np.asarray(pos) + box_rot @ [-0.5, 0, local[2]]
    end = np.asarray(pos) + box_rot @ [0, 0, local[2]]
    hit = p.rayTest(start.tolist(), end.tolist())[0]
    assert hit[0] == box
    assert ((np.asarray(hit[3]) - np.asarray(pos)) @ box_rot)[0] == pytest.approx(-(inner[0] / 2 + wall), abs=1e-4)
    assert p.getVisualShapeData(plate)[0][7] == pytest.approx((1, 0.8, 0, 1))


def test_ground_is_a_plane_at_z0(p):
    g = assets.ground(p)
    hit = p.rayTest([3.0, -7.0, 1.0], [3.0, -7.0, -1.0])[0]
    assert hit[0] == g and hit[3][2] == pytest.approx(0.0, abs=1e-6)


def test_two_clients_do_not_see_each_other():
    a = bullet_client.BulletClient(connection_mode=pybullet.DIRECT)
    b = bullet_client.BulletClient(connection_mode=pybullet.DIRECT)
    try:
        assets.ground(b)
        n_b = b.getNumBodies()
        assets.ground(a)
        assets.table(a, (1.0, 0.6), 0.8, (0, 0), 0.0, (1, 1, 1, 1))
        for t in PARTS.values():
            t.spawn(a, (0, 0, 1.0))
        assets.part(a, "nut", (0.1, 0, 1.0))
        assert a.getNumBodies() == 3 + len(PARTS)
        assert b.getNumBodies() == n_b == 1
    finally:
        a.disconnect()
        b.disconnect()

"""The arm IK's inner solve (ArmIK._solve_from) compiled with numba, for live control (`pip install robotschool[fast]`).

Why: a live tick must get from the device sample to the joint targets in under 2 ms (issue 5), and the numpy
solver spends most of its ~0.45 ms per arm in numpy's per-call overhead on 3-vectors and small matrices, several
times its tight-loop cost once the physics substeps have pushed the interpreter out of the CPU caches (README,
Teleoperation timing). Compiled, the same iterations take a few microseconds. Rewriting the solve on plain Python
floats was measured too (session 7): no faster.

It is the numpy solver step for step (forward kinematics and Jacobian, Levenberg-Marquardt step with the active
set at joint limits, posture pull in the task null space, accept/reject and the damping schedule); the linear
solves are Cholesky factorisations and the posture term is v - J^T (J J^T + eps I)^-1 J v instead of the
projector (I - J^+ J) v, equal in exact arithmetic. Its floating-point operations therefore run in another order
and its answers differ from the numpy solver's in the last bits: it is opt-in per IKBudget (`kernel: numba`,
configs/devices/teleop.yaml). Batch generation keeps the numpy solver, and a teleop file stores its budget (kernel
included) in env_args, so every file replays with the kernel it was recorded with. tests/unit/test_ik_numba.py
compares the two.
"""
from __future__ import annotations

import importlib.util
import math
from typing import TYPE_CHECKING

import numpy as np

from robotschool.errors import RobotschoolError

if TYPE_CHECKING:
    from robotschool.control.ik import ArmIK


def available() -> bool:
    """Is numba installed (the `fast` extra)? Checked without importing it."""
    return importlib.util.find_spec("numba") is not None


# The kernels below are plain Python until the first NumbaSolver compiles them (`_compile`): importing numba
# costs ~0.5 s, which every robotschool process (generation, training, the CLI) would otherwise pay.
_KERNELS = ("_fk_jacobian", "_errors", "_cholesky_solve", "_lm_step", "_norm3", "_solve_from")
_compiled = False


def _compile() -> None:
    """Replace the kernels with numba's compiled versions (callees first; each is compiled, or loaded from
    numba's on-disk cache, on its first call)."""
    global _compiled
    if _compiled:
        return
    import numba

    g = globals()
    for name in _KERNELS:
        g[name] = numba.njit(cache=True, nogil=True)(g[name])
    _compiled = True


def _fk_jacobian(q, pre_p, pre_axis, pre_r, pre_k, pre_k2, prism, post_p, post_r, jac):
    """Tip position (3,), rotation (3, 3); fills jac (6, n) with the geometric Jacobian (linear rows first)."""
    n = q.shape[0]
    p = np.zeros(3)
    r = np.eye(3)
    m = np.empty((3, 3))
    nr = np.empty((3, 3))
    z = np.empty(3)
    origins = np.empty((n, 3))
    axes = np.empty((n, 3))
    for i in range(n):
        for a in range(3):
            p[a] += r[a, 0] * pre_p[i, 0] + r[a, 1] * pre_p[i, 1] + r[a, 2] * pre_p[i, 2]
        for a in range(3):
            origins[i, a] = p[a]
            z[a] = r[a, 0] * pre_axis[i, 0] + r[a, 1] * pre_axis[i, 1] + r[a, 2] * pre_axis[i, 2]
            axes[i, a] = z[a]
        if prism[i]:
            for a in range(3):
                p[a] += z[a] * q[i]
            for a in range(3):
                for b in range(3):
                    m[a, b] = pre_r[i, a, b]
        else:
            s, c = math.sin(q[i]), 1.0 - math.cos(q[i])
            for a in range(3):
                for b in range(3):
                    m[a, b] = pre_r[i, a, b] + s * pre_k[i, a, b] + c * pre_k2[i, a, b]
        for a in range(3):
            for b in range(3):
                nr[a, b] = r[a, 0] * m[0, b] + r[a, 1] * m[1, b] + r[a, 2] * m[2, b]
        r[:, :] = nr
    tip = np.empty(3)
    tip_r = np.empty((3, 3))
    for a in range(3):
        tip[a] = p[a] + r[a, 0] * post_p[0] + r[a, 1] * post_p[1] + r[a, 2] * post_p[2]
        for b in range(3):
            tip_r[a, b] = r[a, 0] * post_r[0, b] + r[a, 1] * post_r[1, b] + r[a, 2] * post_r[2, b]
    for i in range(n):
        zx, zy, zz = axes[i, 0], axes[i, 1], axes[i, 2]
        if prism[i]:
            jac[0, i], jac[1, i], jac[2, i] = zx, zy, zz
            jac[3, i] = jac[4, i] = jac[5, i] = 0.0
        else:
            dx, dy, dz = tip[0] - origins[i, 0], tip[1] - origins[i, 1], tip[2] - origins[i, 2]
            jac[0, i] = zy * dz - zz * dy
            jac[1, i] = zz * dx - zx * dz
            jac[2, i] = zx * dy - zy * dx
            jac[3, i], jac[4, i], jac[5, i] = zx, zy, zz
    return tip, tip_r


def _errors(q_chain, active, tp, tr, chain, err, jac_a, jac):
    """Fills err (6,: position then rotation vector, target minus current) and jac_a (6, n_active)."""
    pre_p, pre_axis, pre_r, pre_k, pre_k2, prism, post_p, post_r = chain
    p, r = _fk_jacobian(q_chain, pre_p, pre_axis, pre_r, pre_k, pre_k2, prism, post_p, post_r, jac)
    for a in range(3):
        err[a] = tp[a] - p[a]
    # rotation error: the rotation vector of tr @ r^T (geometry.rotation_error)
    m = np.empty((3, 3))
    for a in range(3):
        for b in range(3):
            m[a, b] = tr[a, 0] * r[b, 0] + tr[a, 1] * r[b, 1] + tr[a, 2] * r[b, 2]
    cos = max(-1.0, min(1.0, (m[0, 0] + m[1, 1] + m[2, 2] - 1) / 2))
    angle = math.acos(cos)
    vx, vy, vz = m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]
    if angle < 1e-9:
        err[3], err[4], err[5] = 0.5 * vx, 0.5 * vy, 0.5 * vz
    elif angle > math.pi - 1e-6:          # near pi: the axis from the symmetric part
        ax = math.sqrt(max((m[0, 0] + 1) / 2, 0.0)) * (1.0 if vx >= 0 else -1.0)
        ay = math.sqrt(max((m[1, 1] + 1) / 2, 0.0)) * (1.0 if vy >= 0 else -1.0)
        az = math.sqrt(max((m[2, 2] + 1) / 2, 0.0)) * (1.0 if vz >= 0 else -1.0)
        nn = math.sqrt(ax * ax + ay * ay + az * az)
        if nn > 0:
            err[3], err[4], err[5] = ax / nn * angle, ay / nn * angle, az / nn * angle
        else:
            err[3] = err[4] = err[5] = 0.0
    else:
        f = angle / (2 * math.sin(angle))
        err[3], err[4], err[5] = vx * f, vy * f, vz * f
    for k in range(active.shape[0]):
        for a in range(6):
            jac_a[a, k] = jac[a, active[k]]


def _cholesky_solve(a, b):
    """x with a x = b, a symmetric positive definite (a is overwritten by its factor)."""
    n = b.shape[0]
    for j in range(n):
        d = a[j, j]
        for k in range(j):
            d -= a[j, k] * a[j, k]
        d = math.sqrt(d) if d > 0.0 else 1e-150
        a[j, j] = d
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= a[i, k] * a[j, k]
            a[i, j] = s / d
    x = b.copy()
    for i in range(n):
        s = x[i]
        for k in range(i):
            s -= a[i, k] * x[k]
        x[i] = s / a[i, i]
    for i in range(n - 1, -1, -1):
        s = x[i]
        for k in range(i + 1, n):
            s -= a[k, i] * x[k]
        x[i] = s / a[i, i]
    return x


def _lm_step(jw, ew, lam, free):
    """(H + lam diag(diag(H) + 1e-6)) dq = Jw^T ew with H = Jw^T Jw, the blocked columns of Jw zeroed."""
    n = jw.shape[1]
    h = np.empty((n, n))
    g = np.empty(n)
    for i in range(n):
        for j in range(n):
            s = 0.0
            if free[i] and free[j]:
                for a in range(6):
                    s += jw[a, i] * jw[a, j]
            h[i, j] = s
        s = 0.0
        if free[i]:
            for a in range(6):
                s += jw[a, i] * ew[a]
        g[i] = s
    for i in range(n):
        h[i, i] += lam * (h[i, i] + 1e-6)
    return _cholesky_solve(h, g)


def _norm3(v, start):
    return math.sqrt(v[start] * v[start] + v[start + 1] * v[start + 1] + v[start + 2] * v[start + 2])


def _solve_from(q_chain_in, tp, tr, posture, iterations, active, lower, upper, rest, w, pos_tol, rot_tol, damping,
                posture_gain, chain):
    """ArmIK._solve_from: returns (chain joints, position error, rotation error)."""
    n_chain = q_chain_in.shape[0]
    na = active.shape[0]
    q_chain = q_chain_in.copy()
    for k in range(na):
        q_chain[active[k]] = min(max(q_chain[active[k]], lower[k]), upper[k])
    q = np.empty(na)
    for k in range(na):
        q[k] = q_chain[active[k]]
    jac = np.empty((6, n_chain))
    err = np.empty(6)
    jac_a = np.empty((6, na))
    _errors(q_chain, active, tp, tr, chain, err, jac_a, jac)
    cost = 0.0
    for a in range(6):
        cost += (err[a] * w[a]) ** 2
    lam = damping
    jw = np.empty((6, na))
    ew = np.empty(6)
    free = np.ones(na, dtype=np.bool_)
    blocked = np.zeros(na, dtype=np.bool_)
    err_new = np.empty(6)
    jac_new = np.empty((6, na))
    trial = np.empty(n_chain)
    q_new = np.empty(na)
    for _ in range(iterations):
        if _norm3(err, 0) < pos_tol and _norm3(err, 3) < rot_tol:
            break
        for a in range(6):
            ew[a] = err[a] * w[a]
            for k in range(na):
                jw[a, k] = jac_a[a, k] * w[a]
        free[:] = True
        dq = _lm_step(jw, ew, lam, free)
        any_blocked = False
        for k in range(na):
            blocked[k] = (q[k] <= lower[k] + 1e-9 and dq[k] < 0) or (q[k] >= upper[k] - 1e-9 and dq[k] > 0)
            any_blocked = any_blocked or blocked[k]
        if any_blocked:
            for k in range(na):
                free[k] = not blocked[k]
            dq = _lm_step(jw, ew, lam, free)
            for k in range(na):
                if blocked[k]:
                    dq[k] = 0.0
        if posture and posture_gain > 0:     # dq += v - J^T (J J^T + eps I)^-1 J v, v: the pull to the rest pose
            v = np.empty(na)
            for k in range(na):
                v[k] = posture_gain * (rest[k] - q[k])
            jv = np.zeros(6)
            jjt = np.zeros((6, 6))
            for a in range(6):
                for k in range(na):
                    if free[k]:
                        jv[a] += jac_a[a, k] * v[k]
                for b in range(6):
                    s = 0.0
                    for k in range(na):
                        if free[k]:
                            s += jac_a[a, k] * jac_a[b, k]
                    jjt[a, b] = s + (1e-6 if a == b else 0.0)
            y = _cholesky_solve(jjt, jv)
            for k in range(na):
                s = 0.0
                if free[k]:
                    for a in range(6):
                        s += jac_a[a, k] * y[a]
                dq[k] += v[k] - s
        for k in range(na):
            q_new[k] = min(max(q[k] + dq[k], lower[k]), upper[k])
        trial[:] = q_chain
        for k in range(na):
            trial[active[k]] = q_new[k]
        _errors(trial, active, tp, tr, chain, err_new, jac_new, jac)
        cost_new = 0.0
        for a in range(6):
            cost_new += (err_new[a] * w[a]) ** 2
        if cost_new < cost:
            q[:] = q_new
            q_chain[:] = trial
            err[:] = err_new
            jac_a[:, :] = jac_new
            cost = cost_new
            lam = max(lam * 0.3, 1e-7)
        else:
            lam = min(lam * 10, 1e3)
            if lam >= 1e3:
                break
    return q_chain, _norm3(err, 0), _norm3(err, 3)


class NumbaSolver:
    """ArmIK._solve_from for one arm, compiled (see the module docstring). Built from the ArmIK's chain."""

    def __init__(self, ik: "ArmIK"):
        if not available():
            raise RobotschoolError("the compiled IK kernel (IKBudget kernel: numba) needs numba: pip install "
                                   "'robotschool[fast]', or set kernel: numpy in configs/devices/teleop.yaml")
        _compile()
        ch, s = ik.chain, ik.settings
        f = np.float64
        self.chain = (np.array([p for p, _ in ch._pre], dtype=f).reshape(-1, 3),
                      np.array(ch._pre_axis, dtype=f).reshape(-1, 3),
                      np.array([r for _, r in ch._pre], dtype=f).reshape(-1, 3, 3),
                      np.array(ch._pre_k, dtype=f).reshape(-1, 3, 3),
                      np.array(ch._pre_k2, dtype=f).reshape(-1, 3, 3),
                      np.array(ch._prismatic, dtype=np.bool_),
                      np.asarray(ch._post[0], dtype=f), np.ascontiguousarray(ch._post[1], dtype=f))
        self.active = np.asarray(ik.active, dtype=np.int64)
        self.lower, self.upper, self.rest = ik.lower, ik.upper, ik.rest_q
        self.w = np.array([1.0, 1.0, 1.0, s.rot_weight, s.rot_weight, s.rot_weight])
        self.settings = s

    def __call__(self, q_chain, target_p, target_r, posture: bool = True, iterations: int | None = None):
        s = self.settings
        return _solve_from(np.asarray(q_chain, dtype=np.float64), np.asarray(target_p, dtype=np.float64),
                           np.ascontiguousarray(target_r, dtype=np.float64), posture,
                           s.iterations if iterations is None else iterations, self.active, self.lower, self.upper,
                           self.rest, self.w, s.pos_tolerance, s.rot_tolerance, s.damping, s.posture_gain,
                           self.chain)

"""Inverse kinematics for one arm: TCP target pose (robot base frame) -> joint position targets.

A damped least-squares (Levenberg-Marquardt) solver on the arm's own joints, seeded from the measured joint
positions so it is stateless (the same state and target always give the same answer: replay is exact).
Joint limits are enforced inside every iteration, and the final answer is step-capped per control tick so a
far target moves the arm smoothly instead of in one jump. NaN/inf targets are rejected and the arm holds.

Joints of the chain that are not arm joints (a waist, a torso lift) are held at their measured values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from robotschool import geometry
from robotschool.config import check
from robotschool.control.ik_numba import NumbaSolver
from robotschool.control.kinematics import KinematicChain
from robotschool.types import ArmIKResult, Pose


MAX_RESTARTS = 32
_EYE6 = np.eye(6)


def _norm(v: np.ndarray) -> float:
    """np.linalg.norm of a 1-D float64 vector, bit for bit (it is sqrt(v.dot(v))), without its per-call overhead."""
    return math.sqrt(v.dot(v))


@dataclass(frozen=True)
class IKSettings:
    """Solver numbers; loaded from the robot YAML's `ik:` section."""

    iterations: int = 60
    pos_tolerance: float = 2e-4       # metres: stop when below both tolerances
    rot_tolerance: float = 2e-3       # radians
    reach_pos_tolerance: float = 1e-3  # above these the target is flagged unreachable
    reach_rot_tolerance: float = 0.0175
    damping: float = 1e-3             # initial LM damping
    rot_weight: float = 0.3           # metres per radian: how much orientation error counts against position
    max_joint_step: float = 0.15      # radians (or metres) per control tick
    posture_gain: float = field(default=0.1, metadata=check(lo=0.0, hi=1.0))  # null-space pull to the rest pose
    restarts: int = field(default=0, metadata=check(lo=0, hi=MAX_RESTARTS))  # extra seeds tried when the first solve stalls (deterministic)


@dataclass(frozen=True)
class IKBudget:
    """A cap on the solver's work per solve, for live control (teleop: configs/devices/teleop.yaml `ik_budget`).

    Why: without it an out-of-reach target runs every iteration, the polish pass and every restart seed
    (40-80 ms), far over a control tick. Live control tracks from where the arm is (the solve always starts at the
    measured joints), so a few iterations per tick suffice and the arm converges over the next ticks; the best
    solution found so far is kept and an unreached target is flagged (`ArmIKResult.reachable`) for the HUD.
    The caps are counts, never wall-clock time, so a solve stays a pure function of (joints, target, budget)
    and a demo recorded with a budget replays bit for bit (the env stores the budget in the file's env_args).
    Batch generation passes no budget and keeps the robot YAML's `ik:` settings exactly.
    """

    iterations: int = field(default=10, metadata=check(lo=1, hi=1000))
    restarts: int = field(default=0, metadata=check(lo=0, hi=MAX_RESTARTS))
    polish: bool = False              # re-solve without the posture pull when the first solve stalls
    # "numba": the same solve compiled (control/ik_numba.py, the `fast` extra), a few microseconds instead of
    # ~0.45 ms per arm, not bit for bit the numpy solver's answer; "numpy" is what files without this field used
    kernel: str = field(default="numpy", metadata=check(choices=("numpy", "numba")))


def compiled_kernel(budget: IKBudget | None) -> bool:
    """Whether a solve under `budget` runs the compiled kernel (which keeps no numpy kinematics memo)."""
    return budget is not None and budget.kernel != "numpy"


class ArmIK:
    def __init__(self, chain: KinematicChain, arm_joints: list[str], lower: np.ndarray, upper: np.ndarray,
                 rest_q: np.ndarray, settings: IKSettings):
        missing = [j for j in arm_joints if j not in chain.joint_names]
        if missing:
            raise ValueError(f"arm joints {missing} are not on the chain to the end effector")
        self.chain = chain
        self.settings = settings
        self.active = np.array([chain.joint_names.index(j) for j in arm_joints])
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        self.rest_q = np.clip(np.asarray(rest_q, dtype=np.float64), self.lower, self.upper)
        w = settings.rot_weight
        self._weights = np.array([1.0, 1.0, 1.0, w, w, w])
        self._eye_n = np.eye(len(self.active))
        # restart seeds: the rest pose, the middle of the limits, then fixed quasi-random points (same every run)
        fixed = np.random.default_rng(12345).uniform(0.15, 0.85, size=(MAX_RESTARTS, len(self.lower)))
        self._seeds = [self.rest_q, (self.lower + self.upper) / 2] + [self.lower + f * (self.upper - self.lower)
                                                                      for f in fixed]
        self._compiled: NumbaSolver | None = None     # built on first use (IKBudget.kernel "numba")

    def _kernel(self, budget: IKBudget | None):
        """The inner solve the budget asks for: the numpy solver, or the same compiled (control/ik_numba.py)."""
        if not compiled_kernel(budget):
            return self._solve_from
        if self._compiled is None:
            self._compiled = NumbaSolver(self)
        return self._compiled

    def _errors(self, q_chain, target_p, target_r):
        p, r, jac = self.chain.fk_jacobian(q_chain)
        err = np.concatenate([target_p - p, geometry.rotation_error(target_r, r)])
        return err, jac[:, self.active]

    def compile(self, budget: IKBudget | None, q_chain_now) -> None:
        """Build the budget's kernel and run it once (the compiled one compiles, or loads its cache, on its first
        call: seconds, which must not land in a live tick). Nothing is stored; the answer is thrown away."""
        kernel = self._kernel(budget)
        if kernel is not self._solve_from:
            q = np.asarray(q_chain_now, dtype=np.float64)
            p, r = self.chain.fk(q)
            kernel(q, p, r, iterations=1)

    def _start(self, q_chain: np.ndarray) -> np.ndarray:
        """A solve's first iterate: the chain joints with the arm's clipped into its limits."""
        q_chain = q_chain.copy()
        q_chain[self.active] = geometry.clip(q_chain[self.active], self.lower, self.upper)
        return q_chain

    def prepare(self, q_chain_now, budget: IKBudget | None = None) -> None:
        """Compute the kinematics at the measured joints now, before the target is known.

        Why: a live loop calls this before it samples the operator's device; the solve that follows the sample
        then finds its first forward kinematics and Jacobian ready (KinematicChain keeps its last answer), so
        that work is off the input-to-command path. The answer is the same bit for bit either way. The compiled
        kernel computes its own kinematics, so for it there is nothing to prepare.
        """
        if not compiled_kernel(budget):
            self.chain.fk_jacobian(self._start(np.asarray(q_chain_now, dtype=np.float64)))

    def _solve_from(self, q_chain: np.ndarray, target_p, target_r, posture: bool = True,
                    iterations: int | None = None) -> tuple[np.ndarray, float, float]:
        s = self.settings
        q_chain = self._start(q_chain)
        q = q_chain[self.active]
        lam = s.damping
        err, jac = self._errors(q_chain, target_p, target_r)
        cost = float(np.sum((err * self._weights) ** 2))
        for _ in range(s.iterations if iterations is None else iterations):
            if _norm(err[:3]) < s.pos_tolerance and _norm(err[3:]) < s.rot_tolerance:
                break
            jw = jac * self._weights[:, None]
            ew = err * self._weights
            dq = self._step(jw, ew, lam)
            # active set: a joint at a limit that the step pushes further out is frozen and the step re-solved,
            # otherwise clipping eats the step, the cost stalls and the damping runs away.
            blocked = ((q <= self.lower + 1e-9) & (dq < 0)) | ((q >= self.upper - 1e-9) & (dq > 0))
            if blocked.any():
                dq = self._step(jw * ~blocked, ew, lam)
                dq[blocked] = 0.0
            if posture and s.posture_gain > 0:  # drift toward the rest posture inside the task null space
                j = jac * ~blocked if blocked.any() else jac
                # J+ = J^T (J J^T + eps I)^-1: a 6x6 solve, cheaper than an SVD-based pinv in the hot loop
                j_pinv = j.T @ np.linalg.solve(j @ j.T + 1e-6 * _EYE6, _EYE6)
                null = self._eye_n - j_pinv @ j
                dq = dq + null @ (s.posture_gain * (self.rest_q - q))
            q_new = geometry.clip(q + dq, self.lower, self.upper)
            trial = q_chain.copy()
            trial[self.active] = q_new
            err_new, jac_new = self._errors(trial, target_p, target_r)
            cost_new = float(np.sum((err_new * self._weights) ** 2))
            if cost_new < cost:
                q, q_chain, err, jac, cost = q_new, trial, err_new, jac_new, cost_new
                lam = max(lam * 0.3, 1e-7)
            else:
                lam = min(lam * 10, 1e3)
                if lam >= 1e3:
                    break
        return q_chain, _norm(err[:3]), _norm(err[3:])

    def _converged(self, sol) -> bool:
        return sol[1] <= self.settings.reach_pos_tolerance and sol[2] <= self.settings.reach_rot_tolerance

    def _score(self, sol) -> float:
        return sol[1] + self.settings.rot_weight * sol[2]

    @staticmethod
    def _step(jw: np.ndarray, ew: np.ndarray, lam: float) -> np.ndarray:
        h = jw.T @ jw
        return np.linalg.solve(h + lam * np.diag(np.diag(h) + 1e-6), jw.T @ ew)

    def solve(self, target: Pose, q_chain_now: np.ndarray, apply_step_cap: bool = True,
              restarts: int | None = None, budget: IKBudget | None = None) -> ArmIKResult:
        """Solve for `target` starting at the measured chain joint positions `q_chain_now`.

        `restarts` (default: the settings', or the budget's) extra deterministic seeds tried when the first solve
        stalls; global reachability checks use several. `budget` (live control, see IKBudget) caps iterations,
        the polish pass and restarts; None keeps the settings' full solve (batch generation).
        """
        s = self.settings
        q_now = np.asarray(q_chain_now, dtype=np.float64)
        arm_now = geometry.clip(q_now[self.active], self.lower, self.upper)
        if not target.is_finite() or not np.isfinite(q_now).all():
            return ArmIKResult(arm_now, float("inf"), float("inf"), False, True, False)
        tp, tr = target.pos, target.rot
        iters = None if budget is None else min(budget.iterations, s.iterations)
        if restarts is None:
            restarts = s.restarts if budget is None else min(budget.restarts, s.restarts)
        solve_from = self._kernel(budget)
        best = solve_from(q_now, tp, tr, iterations=iters)
        if not self._converged(best) and (budget is None or budget.polish):
            # the posture pull can stall the last millimetres: polish without it
            best = min(best, solve_from(best[0], tp, tr, posture=False, iterations=iters), key=self._score)
        for seed in self._seeds[:restarts]:
            if self._converged(best):
                break
            start = q_now.copy()
            start[self.active] = seed
            best = min(best, solve_from(start, tp, tr, posture=False, iterations=iters), key=self._score)
        q_sol = best[0][self.active]
        reachable = best[1] <= s.reach_pos_tolerance and best[2] <= s.reach_rot_tolerance
        capped = False
        if apply_step_cap:
            step = geometry.clip(q_sol - arm_now, -s.max_joint_step, s.max_joint_step)
            capped = bool(np.any(np.abs(q_sol - arm_now) > s.max_joint_step + 1e-12))
            q_sol = arm_now + step
        return ArmIKResult(geometry.clip(q_sol, self.lower, self.upper), best[1], best[2], reachable, False, capped)

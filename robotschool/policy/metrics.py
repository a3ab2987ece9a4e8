"""Success-rate statistics shared by policy evaluation and the scripted-operator benchmark."""
from __future__ import annotations

import math


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a success rate k/n (95% for z = 1.96).

    Why Wilson and not the normal approximation: evaluations here have tens of episodes and rates near 0 or
    1, where p +- z*sqrt(p(1-p)/n) collapses to a zero-width interval (10/10 would claim [1, 1]).
    With n = 0 nothing is known: (0, 1).
    """
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)

"""Device: the source of operator commands (keyboard, VR pose stream, scripted operator, replay).

A device knows nothing about robots or environments: each control tick it is polled with the latest
observation and the simulation time and returns one OperatorCommand. Everything robot-specific happens
downstream (retargeting, IK).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping

import numpy as np

from robotschool.types import OperatorCommand


class Device(ABC):
    #: recorded in each demo's `device` attribute
    name: str = "device"
    #: who operated (a person's id for human devices, "oracle" for scripts)
    operator_id: str = "unknown"

    @abstractmethod
    def poll(self, obs: Mapping[str, np.ndarray], t: float) -> OperatorCommand:
        """The operator's command for this tick."""

    @property
    def finished(self) -> bool:
        """True when the device has nothing more to say this episode (scripts); humans end with events."""
        return False

    def close(self) -> None:
        pass

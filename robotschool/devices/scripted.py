"""The scripted operator as a device: a task's oracle driving the robot through the human path.

Batch generation uses it; it goes through exactly the same Retargeter -> IK -> Robot path as a keyboard or
VR operator, so scripted and human demos are recorded by the same code.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from robotschool.devices.base import Device
from robotschool.registry import DEVICES
from robotschool.tasks.base import Oracle
from robotschool.types import OperatorCommand


@DEVICES.register("scripted")
class ScriptedDevice(Device):
    name = "scripted"
    operator_id = "oracle"

    def __init__(self, oracle: Oracle):
        self.oracle = oracle

    def poll(self, obs: Mapping[str, np.ndarray], t: float) -> OperatorCommand:
        return self.oracle.act(dict(obs), t)

    @property
    def finished(self) -> bool:
        return self.oracle.done

"""Replay device: a recorded operator stream (a demo's operator/ group) played back one row per tick.

Because a Device knows nothing about robots, the same stream can drive any robot: `robotschool retarget`
rebuilds a demo's scene with another robot and runs this device through that robot's retargeter and IK. The
episode events of the original session (start/save/...) are dropped: they controlled that session, not this one.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from robotschool.devices.base import Device
from robotschool.recording.recorder import operator_command
from robotschool.registry import DEVICES
from robotschool.types import OperatorCommand


@DEVICES.register("replay")
class ReplayDevice(Device):
    name = "replay"

    def __init__(self, stream: Mapping[str, np.ndarray], operator_id: str = "unknown"):
        """`stream`: operator/<key> arrays of one demo (as recorded by recording.recorder.operator_row)."""
        self.stream = dict(stream)
        self.operator_id = operator_id
        self.length = len(next(iter(self.stream.values()))) if self.stream else 0
        self.index = 0

    def poll(self, obs: Mapping[str, np.ndarray], t: float) -> OperatorCommand:
        if self.index >= self.length:          # past the end: hold the last command (no events)
            return dataclasses.replace(operator_command(self.stream, self.length - 1), events=())
        cmd = operator_command(self.stream, self.index)
        self.index += 1
        return dataclasses.replace(cmd, events=())

    @property
    def finished(self) -> bool:
        return self.index >= self.length

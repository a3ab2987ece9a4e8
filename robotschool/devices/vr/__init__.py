"""VR pose-stream device: a WebSocket server that a headset app (or any program) streams poses to.

    protocol.py  the JSON message schema (version 1) and its validation
    settings.py  VRSettings from configs/devices/vr.yaml
    server.py    PoseServer: the WebSocket server thread (bind/token rules, counters, newest sample)
    device.py    VRDevice: calibration, clutch, anchoring, smoothing, dropout -> OperatorCommand

The names below are the public API (tests, docs and the device registry import them from here).
"""
from robotschool.devices.vr.device import VRDevice
from robotschool.devices.vr.protocol import (BUTTON_EVENTS, BUTTONS, COUNTERS, PROTOCOL_VERSION, ControllerSample,
                                             MessageError, VRSample, parse_message)
from robotschool.devices.vr.server import PoseServer, import_websockets
from robotschool.devices.vr.settings import VRSettings, load_settings

__all__ = ["BUTTON_EVENTS", "BUTTONS", "COUNTERS", "PROTOCOL_VERSION", "ControllerSample", "MessageError",
           "PoseServer", "VRDevice", "VRSample", "VRSettings", "import_websockets", "load_settings", "parse_message"]

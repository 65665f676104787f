"""Diagnose failed connections layer by layer, and find what would work.

``probe(options)`` walks DNS, TCP, TLS, the HTTP upgrade, WebSocket, MQTT CONNECT and a
liveness check, and returns a :class:`Diagnosis`; ``explore(options)`` tries
alternatives (subprotocols, paths, ws vs wss, MQTT versions). ``CAUSES`` is the one
table of causes shared by the CLI, the UIs and the docs.
"""

from __future__ import annotations

from explorer.diagnose.causes import CAUSES, Cause
from explorer.diagnose.explore import diagnose, explore
from explorer.diagnose.model import LAYERS, Alternative, Diagnosis, Layer, ProbeChecks, Step
from explorer.diagnose.probe import StepCallback, probe

__all__ = [
    "CAUSES",
    "LAYERS",
    "Alternative",
    "Cause",
    "Diagnosis",
    "Layer",
    "ProbeChecks",
    "Step",
    "StepCallback",
    "diagnose",
    "explore",
    "probe",
]

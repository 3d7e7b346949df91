"""Simulated WeCom kf + external contact + MP kefu platform (see app.py)."""

from gateway.simulator.app import create_simulator_app
from gateway.simulator.world import SimClock, SimConfig, SimError, World

__all__ = ["SimClock", "SimConfig", "SimError", "World", "create_simulator_app"]

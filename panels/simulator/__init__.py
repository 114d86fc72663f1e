"""A provider panel speaking API v2, for the demo, the tests and the benchmarks (see engine.py)."""

from panels.simulator.engine import Simulator
from panels.simulator.server import SimulatorServer

__all__ = ["Simulator", "SimulatorServer"]

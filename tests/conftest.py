import pytest

from panels.simulator import Simulator, SimulatorServer

# --- provider simulator ---------------------------------------------------------------------------


@pytest.fixture
def make_simulator():
    """Start simulators on free loopback ports: ``make_simulator("smmcool", opaque_ids=True)``."""
    servers = []

    def make(dialect: str = "smmcloud", **options) -> SimulatorServer:
        server = SimulatorServer(Simulator(dialect, **options)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def simulator(make_simulator):
    return make_simulator("smmcloud")

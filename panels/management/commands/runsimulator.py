from decimal import Decimal

from django.core.management.base import BaseCommand

from panels.simulator import Simulator, SimulatorServer
from panels.simulator.catalogue import DIALECTS


class Command(BaseCommand):
    help = "Run the bundled provider simulator: an API v2 provider panel on a local port."

    def add_arguments(self, parser):
        parser.add_argument("--dialect", choices=sorted(DIALECTS), default="smmcloud")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8701)
        parser.add_argument("--key", default="sim-key-0123456789abcdef")
        parser.add_argument("--services", type=int, default=0, help="Extra generated services.")
        parser.add_argument("--balance", type=Decimal, default=Decimal(1000))
        parser.add_argument("--currency", default="USD")
        parser.add_argument(
            "--step-seconds",
            type=float,
            default=20,
            help="Real seconds per clock step (0: only /_sim/advance).",
        )

    def handle(self, *args, **options):
        simulator = Simulator(
            options["dialect"],
            api_key=options["key"],
            balance=options["balance"],
            currency=options["currency"],
            extra_services=options["services"],
            auto_step_seconds=options["step_seconds"],
        )
        server = SimulatorServer(simulator, host=options["host"], port=options["port"])
        self.stdout.write(
            f"Simulated {options['dialect']} provider at {server.url} "
            f"({len(simulator.services_list())} services); control endpoints under /_sim/",
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()

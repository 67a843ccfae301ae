from pathlib import Path
from unittest.mock import patch

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.context import ctx_host, ctx_state

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> list[str]:
    return (RECORDED / name).read_text().splitlines()


@pytest.fixture
def run_op():
    """Run an operation's generator against canned facts: returns the commands it yields."""
    inventory = Inventory((["@fake"], {"fake_delay": 0, "fake_delay_jitter": 0}))
    state = State(inventory, Config())
    host = inventory.get_host("@fake")

    def run(op, facts: dict, **kwargs):
        def get_fact(cls, *args, **fact_kwargs):
            return facts[cls.__name__]

        with patch.object(host, "get_fact", side_effect=get_fact), patch.object(host, "noop"), \
                ctx_state.use(state), ctx_host.use(host):
            return [c.get_raw_value() if hasattr(c, "get_raw_value") else str(c) for c in op._inner(**kwargs)]

    return run

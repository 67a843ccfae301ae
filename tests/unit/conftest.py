import json
from pathlib import Path

HERE = Path(__file__).parent


def recorded(case: str) -> list[str]:
    """A fact's output recorded from a real backend: `recorded("StudentAccounts/in-place")`."""
    return json.loads((HERE / "facts" / f"{case}.json").read_text())["output"]

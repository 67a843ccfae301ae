"""The bench report's CPU table: what the parallel runs cost, and the bound it sets on 2 cores."""

from bench.report import cpu_bound
from bench.run import Figure


def parallel(k: int, wall: list[float], mine: list[float], theirs: list[float]) -> Figure:
    return Figure(f"backends no-change converge in parallel, {k}", "cmd", wall,
                  {"controller_cpu": mine, "hosts_cpu": theirs})


def test_the_bound_is_the_median_cpu_over_the_cores():
    runs = {1: parallel(1, [1.2, 1.1, 1.3], [0.8, 0.7, 0.9], [0.3, 0.3, 0.4]),
            6: parallel(6, [2.4, 2.3, 2.5], [1.2, 1.3, 1.1], [2.0, 2.2, 2.1])}
    lines = cpu_bound(runs, cores=2)
    assert "| 1 | 1.20 s | 0.80 s | 0.30 s | 0.55 s |" in lines
    assert "| 6 | 2.40 s | 1.20 s | 2.10 s | 1.65 s |" in lines


def test_no_table_without_the_hosts_cpu():
    assert cpu_bound({1: Figure("backends no-change converge in parallel, 1", "cmd", [1.0])}, cores=2) == []

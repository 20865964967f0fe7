"""examples/inference_drift.py: a trained CNN programmed onto PCM devices keeps its
accuracy for a second, loses some over a year, and drift compensation keeps more."""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "inference_drift.py"


def test_accuracy_over_time_with_and_without_compensation():
    spec = importlib.util.spec_from_file_location("inference_drift", EXAMPLE)
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    results = demo.run(epochs=10, seeds=3, progress=False)
    assert results["digital"]["0"][0] >= 0.9
    for label in ("compensated", "plain"):
        assert set(results[label]) == {"1 s", "1 h", "1 day", "1 year"}
        assert all(len(v) == 3 for v in results[label].values())
    compensated = {k: statistics.mean(v) for k, v in results["compensated"].items()}
    plain = {k: statistics.mean(v) for k, v in results["plain"].items()}
    assert compensated["1 s"] >= 0.85
    assert compensated["1 year"] >= plain["1 year"]
    assert plain["1 year"] <= plain["1 s"]
    assert "1 year" in demo.table(results)


def test_hardware_aware_training_keeps_more_accuracy():
    """``--hwa``: the same CNN trained plainly and hardware-aware, programmed with the same
    seeds. Under twice the PCM programming and read noise the hardware-aware one keeps more
    accuracy after a day with compensation (by 2.5 to 9 points over three training seeds
    when this was written; the test asks for 2 on seed 0, where it was 6.9)."""
    spec = importlib.util.spec_from_file_location("inference_drift", EXAMPLE)
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    both = demo.compare(epochs=10, seeds=3, channels=8, seed=0, progress=False, hwa_std=0.15,
                        noise_scale=2.0)  # fmt: skip
    assert set(both) == {"plain", "hwa"}
    for results in both.values():
        assert set(results["compensated"]) == {"1 s", "1 h", "1 day", "1 year"}
        assert all(len(v) == 3 for v in results["compensated"].values())
    day = {k: statistics.mean(both[k]["compensated"]["1 day"]) for k in both}
    assert day["hwa"] >= day["plain"] + 0.02

"""The guide's worked examples ("Your own data", docs/own-data.md) run as written: the command lines the page
includes (docs/examples/<example>.sh, through pymdownx.snippets) are run one by one in a shell, from a folder that
looks like the repository root to them (its scripts/ and docs/), with the project's `python` and `seqconv` first on
the PATH, against the session's Prefect server; then what the page says the user gets is checked."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "own-data.md"
INCLUDED = re.compile(r'^```bash\n--8<-- "(docs/examples/\w+\.sh)"\n```$', re.MULTILINE)


def included_scripts() -> list[str]:
    """The command files the page shows, each as a bash block of its own."""
    return INCLUDED.findall(PAGE.read_text(encoding="utf-8"))


def shown_output(example: str) -> list[str]:
    """The lines of the first `text` block the page shows after the example's commands (what the user sees)."""
    page = PAGE.read_text(encoding="utf-8")
    after = page[page.index(f'--8<-- "docs/examples/{example}.sh"'):]
    block = after[after.index("```text\n") + len("```text\n"):]
    return block[:block.index("```")].splitlines()


def run_example(name: str, folder: Path) -> list[subprocess.CompletedProcess]:
    """Each line of docs/examples/<name>.sh, in order, in `folder`; stops at the first that fails."""
    for link in ("scripts", "docs"):
        if not (folder / link).exists():
            (folder / link).symlink_to(ROOT / link)
    lines = (ROOT / "docs" / "examples" / f"{name}.sh").read_text(encoding="utf-8").splitlines()
    return [run_line(line, folder) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def run_line(line: str, folder: Path) -> subprocess.CompletedProcess:
    """One command line, as a user types it in `folder`, on the test's Prefect server; it must succeed."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(["bash", "-c", line], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"`{line}` exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def test_the_page_shows_both_examples_commands():
    assert included_scripts() == ["docs/examples/sensor.sh", "docs/examples/tickets.sh"]
    for script in included_scripts():
        lines = (ROOT / script).read_text(encoding="utf-8").split("\n")
        assert any(line.startswith("seqconv train-all --dataset examples/") for line in lines)
        assert any(line.startswith("seqconv predict ") for line in lines)


def test_the_sensor_example_from_file_to_forecast(prefect_harness, tmp_path):
    ingest_fetch, train, predict = run_example("sensor", tmp_path)

    assert "wrote sensor.csv, sensor.toml, sensor_recent.csv" in ingest_fetch.stdout
    summary = shown_output("sensor")[:3]  # the rows, repairs and gaps, as the page shows them
    assert summary[0].startswith("sensor: 2,866 rows, 2026-01-01 00:00:00 to 2026-04-30 23:00:00")
    assert all(line in train.stdout for line in summary)
    assert (tmp_path / "data" / "specs" / "sensor.toml").read_bytes() == (ROOT / "docs/examples/sensor.toml").read_bytes()
    champion = json.loads((tmp_path / "artifacts" / "registry" / "jena_conv_gru@sensor.json").read_text())
    run = next((tmp_path / "artifacts" / "runs").glob("*/jena_conv_gru@sensor"))
    assert run.parent.name in json.dumps(champion)
    assert (run / "serving" / "serving.json").is_file()

    (out,) = (tmp_path / "artifacts" / "predictions").glob("*/jena_conv_gru@sensor")
    rows = list(csv.DictReader((out / "predictions.csv").open(encoding="utf-8")))
    with (tmp_path / "examples" / "sensor_recent.csv").open(encoding="utf-8") as f:
        last_reading = list(csv.DictReader(f))[-1]["time"]
    assert rows and rows[-1]["reading_time"].startswith(last_reading)  # forecast from the file's newest reading
    assert all(math.isfinite(float(r["forecast_c"])) for r in rows)
    assert "jena_conv_gru@sensor: " in predict.stdout and "From sensor_recent.csv." in predict.stdout

    # tune on the user's dataset: the trial with the run's own settings reuses its training
    tune = run_line("seqconv tune --model jena_conv_gru@sensor --profile smoke --grid dropout=0,0.5", tmp_path)
    assert "# Tune " in tune.stdout and "jena_conv_gru@sensor" in tune.stdout and "**Winner: trial" in tune.stdout
    assert "°C" in tune.stdout  # the sensor's unit, from its spec
    (table,) = (tmp_path / "artifacts" / "tunes").glob("*/tune.md")
    trials = [line for line in table.read_text(encoding="utf-8").splitlines() if re.match(r"\| (\*\*)?\d", line)]
    assert len(trials) == 2, trials  # dropout 0 and 0.5, each trained or reused


def test_the_tickets_example_from_file_to_labels(prefect_harness, tmp_path):
    _, train, predict = run_example("tickets", tmp_path)

    assert shown_output("tickets")[0] == "tickets: 1,470 train + 210 val + 420 test texts -> data/processed/tickets"
    assert shown_output("tickets")[0] in train.stdout  # as the page shows it
    assert "imdb_conv@tickets" in train.stdout and "macro-F1" in train.stdout
    assert (tmp_path / "artifacts" / "registry" / "imdb_conv@tickets.json").is_file()
    (out,) = (tmp_path / "artifacts" / "predictions").glob("*/imdb_conv@tickets")
    rows = list(csv.DictReader((out / "predictions.csv").open(encoding="utf-8")))
    with (tmp_path / "examples" / "tickets_new.csv").open(encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    assert [r["row"] for r in rows] == [str(i) for i in range(1, len(texts) + 1)]  # one row per text, in order
    assert {r["label"] for r in rows} <= {"billing", "bug", "praise"}
    assert all(1 / 3 <= float(r["probability"]) <= 1 for r in rows)  # the most likely of three labels

    # the champion judged again on the published version, by its name
    evaluated = run_line("seqconv evaluate --champion imdb_conv@tickets", tmp_path)
    assert "\nimdb_conv@tickets on " in "\n" + evaluated.stdout, evaluated.stdout
    assert "baselines: majority 0.3" in evaluated.stdout and "blessed: val accuracy" in evaluated.stdout
    (judged,) = (tmp_path / "artifacts" / "evaluations").glob("*/imdb_conv@tickets")
    assert json.loads((judged / "metrics.json").read_text())["test"]["reviews"] == 420  # the test split's texts

"""The data files of the guide's two worked examples ("Your own data", docs/own-data.md), with the example specs
(docs/examples/) copied beside them, so each spec reads its files from its own folder:

    python scripts/example_data.py FOLDER

- `sensor.csv`: 120 days of hourly readings of a greenhouse sensor (temperature, humidity, heater power, whether
  the door was open, the site's name), with the warts of a real log: `NA`s, a -999 sentinel, an hour missing;
  `sensor_recent.csv`: the 4 days after it, for `seqconv predict`.
- `tickets.csv`: 2,100 support tickets labelled billing, bug or praise, each with its label's words among common
  ones; `tickets_new.csv`: 5 new tickets without labels, for `seqconv predict`.

Synthetic, seeded, with a signal a model learns in seconds (the temperature follows the day and the heater; each
label has its own words), small: the smoke profile trains on them in seconds.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
SPECS = ("sensor.toml", "tickets.toml")
DAYS, RECENT_DAYS = 120, 4
START = np.datetime64("2026-01-01T00:00")
WORDS = {  # label -> words that mostly appear in its tickets
    "billing": ["invoice", "refund", "charged", "payment", "price", "card"],
    "bug": ["crash", "error", "broken", "freeze", "exception", "login"],
    "praise": ["love", "great", "thanks", "wonderful", "happy", "fast"],
}
COMMON = ["the", "a", "my", "app", "today", "it", "is", "and", "we", "please", "this", "with", "your", "team",
          "again", "since", "after", "update", "account", "order"]
NEW_TICKETS = ["I was charged twice, please refund the invoice",
               "The app shows an error and then a crash on login",
               "Thanks, the team was great and fast",
               "My card payment failed at the new price",
               "Since the update it freezes, broken again"]


def sensor_rows(hours: int, start_hour: int, rng: np.random.Generator) -> list[list[str]]:
    """Hourly rows: the temperature follows the day and the heater (switched on at night), with noise."""
    rows = []
    for h in range(start_hour, start_hour + hours):
        hour_of_day = h % 24
        heater = 2.5 if hour_of_day < 6 or hour_of_day >= 20 else 0.4
        heater += rng.normal(0, 0.1)
        door = "open" if 9 <= hour_of_day < 17 and rng.random() < 0.3 else "closed"
        outside = 4 + 6 * np.sin(2 * np.pi * (hour_of_day - 9) / 24)
        temperature = 14 + 0.6 * outside + 2.0 * heater - (1.5 if door == "open" else 0) + rng.normal(0, 0.3)
        humidity = 70 - 1.5 * (temperature - 14) + rng.normal(0, 2)
        time = str(START + np.timedelta64(h, "h")).replace("T", " ")
        rows.append([time, f"{temperature:.2f}", f"{humidity:.1f}", f"{heater:.2f}", door, "greenhouse-3"])
    return rows


def write_sensor(folder: Path, rng: np.random.Generator) -> None:
    header = ["time", "temperature", "humidity", "heater_kw", "door", "site"]
    rows = sensor_rows(DAYS * 24, 0, rng)
    for i in rng.choice(len(rows), size=12, replace=False):
        rows[i][2] = "NA"  # the humidity probe drops out now and then: a gap, never a zero
    rows[500][3] = "-999"  # the logger's "no reading"
    del rows[1000]  # an hour the logger lost
    recent = sensor_rows(RECENT_DAYS * 24, DAYS * 24, rng)
    for name, body in (("sensor.csv", rows), ("sensor_recent.csv", recent)):
        with (folder / name).open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *body])


def write_tickets(folder: Path, rng: np.random.Generator) -> None:
    labels = list(WORDS)
    rows = []
    for i in range(2100):
        label = labels[i % len(labels)]
        words = list(rng.choice(COMMON, size=int(rng.integers(5, 12))))
        words += list(rng.choice(WORDS[label], size=int(rng.integers(2, 4))))
        rng.shuffle(words)
        rows.append([" ".join(words).capitalize() + ".", label])
    rows = [rows[i] for i in rng.permutation(len(rows))]
    with (folder / "tickets.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["text", "label"], *rows])
    with (folder / "tickets_new.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["text"], *[[t] for t in NEW_TICKETS]])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/example_data.py FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(24)
    write_sensor(folder, rng)
    write_tickets(folder, rng)
    for spec in SPECS:
        if (EXAMPLES / spec).is_file():
            shutil.copyfile(EXAMPLES / spec, folder / spec)
    print(f"wrote {', '.join(sorted(p.name for p in folder.iterdir() if p.is_file()))} in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Write constraints.txt: every package a group of the project's requirements installs, pinned, by group.

    .venv/bin/python scripts/constraints.py            # keep today's pins; add what a changed pyproject needs
    .venv/bin/python scripts/constraints.py --upgrade  # resolve afresh: the newest versions pyproject allows

Each group is resolved by pip itself (`pip install --dry-run --ignore-installed --report`, which installs nothing
and downloads only metadata where the index serves it): the runtime (`.`, what every worker host and the image
install), then what the `docker`, `test`, `docs` and `gpu` extras add beyond it. A package appears once, in the
first group that needs it. pip, setuptools and wheel are left to the installer, as `pip freeze` leaves them.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
GROUPS = {  # group -> what pip resolves for it
    "runtime": ".",
    "docker": ".[docker]",
    "test": ".[test]",  # prefect-docker too, listed under docker
    "docs": ".[docs]",
    "gpu": ".[gpu]",  # tensorflow[and-cuda]: the nvidia-* wheels (CUDA, cuDNN) of TensorFlow's own choice
}
LEFT_TO_THE_INSTALLER = {"pip", "setuptools", "wheel", "seqconv"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(requirement: str, constraints: Path | None) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
                   "--report", str(report), requirement]
        if constraints:
            command += ["-c", str(constraints)]
        subprocess.run(command, cwd=ROOT, check=True)
        installed = json.loads(report.read_text())["install"]
    return {canonical(i["metadata"]["name"]): f"{i['metadata']['name']}=={i['metadata']['version']}"
            for i in installed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="resolve without today's pins")
    args = parser.parse_args()
    keep = None if args.upgrade or not CONSTRAINTS.exists() else CONSTRAINTS
    seen: set[str] = set(LEFT_TO_THE_INSTALLER)
    lines = [
        "# Every package the project installs, pinned (pip install -c constraints.txt ...). Regenerate with",
        "#   .venv/bin/python scripts/constraints.py [--upgrade]",
        "# (pip resolves each group; a package is listed under the first group that needs it).",
    ]
    for group, requirement in GROUPS.items():
        pins = resolve(requirement, keep)
        new = sorted((k for k in pins if k not in seen), key=str.lower)
        seen.update(new)
        lines += ["", f"# {group}: {requirement}" + ("" if group == "runtime" else " (beyond the groups above)")]
        lines += [pins[k] for k in new]
    part = CONSTRAINTS.with_suffix(".txt.part")
    part.write_text("\n".join(lines) + "\n")
    part.replace(CONSTRAINTS)
    print(f"{CONSTRAINTS}: {len(seen) - len(LEFT_TO_THE_INSTALLER)} pins")


if __name__ == "__main__":
    main()

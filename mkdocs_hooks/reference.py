"""MkDocs hook (mkdocs.yml `hooks:`): the parts of the guide that are generated from the code at build time.

- `<!-- settings-table PATH CLASS -->` becomes a table of the dataclass CLASS in PATH (relative to the repository
  root): field, type, default and the field's comment. The source is read with `ast` and `tokenize`, never
  imported: the table says what the file says, in any environment.
  A comment on a line of its own of at most three words starting with a capital letter (`# IMDB`) heads a group of
  the fields below it; any other comment line continues the comment of the field above.
- `<!-- cli-help -->` becomes the `--help` of `seqconv` and of each command it lists, run as
  `python -m flows.cli [COMMAND] --help` from the repository root (the command line parses its options before it
  imports Prefect or TensorFlow, so this takes a fraction of a second per command).
- `::: module` lines (mkdocstrings) are checked first: a module that moved fails the build naming the page and
  the module, instead of mkdocstrings' longer error.
- A link or image written from the repository root (`docs/results/...png` in RESULTS.md, included whole by
  pymdownx.snippets) is made relative to the page that includes it.

Anything that cannot be generated raises PluginError, which fails the build saying what to fix.
"""

from __future__ import annotations

import ast
import io
import os
import posixpath
import re
import subprocess
import sys
import tokenize
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]  # the repository root: mkdocs_hooks/ is at its top
SETTINGS_MARKER = re.compile(r"^<!-- settings-table (\S+) (\w+) -->$", re.MULTILINE)
CLI_MARKER = "<!-- cli-help -->"
AUTODOC = re.compile(r"^::: ([\w.]+)[ \t]*$((?:\n[ \t]+\S.*)*)", re.MULTILINE)  # the target, its options block
GROUP_HEADING = re.compile(r"^[A-Z][\w/-]*(?: [\w/-]+){0,2}$")  # `# IMDB`, `# Jena`: no sentence punctuation
HELP_COLUMNS = "100"  # argparse wraps its help to $COLUMNS: the same text on every machine
HELP_TIMEOUT_S = 60

_page_src = ""  # the page being rendered (src path inside docs/), for the link preprocessor


# ---------------------------------------------------------------------------------------------------------------
# The settings table
# ---------------------------------------------------------------------------------------------------------------
def dataclass_rows(path: Path, class_name: str) -> list[tuple[str, str, str, str, str]]:
    """(group, field, type, default, comment) of each annotated field of `class_name` in `path`, in source order."""
    if not path.is_file():
        raise PluginError(f"settings table: {path.relative_to(ROOT)} does not exist (did the module move? "
                          f"update the marker in docs/reference/settings.md)")
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    cls = next((node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name), None)
    if cls is None:
        raise PluginError(f"settings table: no class {class_name} in {path.relative_to(ROOT)} (did it move? "
                          f"update the marker in docs/reference/settings.md)")

    lines = source.splitlines()
    comments: dict[int, tuple[str, bool]] = {}  # line -> (text, whether the comment is alone on its line)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and cls.lineno <= token.start[0] <= cls.end_lineno:
            alone = not lines[token.start[0] - 1][:token.start[1]].strip()
            comments[token.start[0]] = (token.string.lstrip("#").strip(), alone)

    fields = [node for node in cls.body if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)]
    if not fields:
        raise PluginError(f"settings table: {class_name} in {path.relative_to(ROOT)} has no annotated fields")
    field_at = {node.lineno: node for node in fields}
    inside_field = {line for node in fields for line in range(node.lineno, node.end_lineno + 1)}
    rows: list[list[str]] = []
    group = ""
    current: list[str] | None = None  # the row whose comment a comment line of its own continues
    for number in range(cls.body[0].lineno, cls.end_lineno + 1):
        if number in field_at:
            node = field_at[number]
            trailing = [comments[n][0] for n in range(node.lineno, node.end_lineno + 1)
                        if n in comments and not comments[n][1]]
            default = ast.get_source_segment(source, node.value) if node.value is not None else "(required)"
            current = [group, node.target.id, ast.get_source_segment(source, node.annotation), default,
                       " ".join(trailing)]
            rows.append(current)
        elif number in inside_field:
            continue  # a field written over several lines: its comments were taken above
        elif number in comments and comments[number][1]:
            text = comments[number][0]
            if GROUP_HEADING.match(text):
                group, current = text, None
            elif current is not None:
                current[4] = f"{current[4]} {text}".strip()
        elif lines[number - 1].strip():
            current = None  # a docstring, decorator or method: what follows is no field's comment
    return [tuple(row) for row in rows]


def escape_cell(text: str) -> str:
    """Text for a Markdown table cell: `|`, `<` and `>` escaped outside code spans (Python-Markdown's tables do
    not split a row at a `|` inside a code span, and a backslash there would be shown)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = parts[i].replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def settings_table(path: str, class_name: str) -> str:
    """Markdown: one table per group of fields of the dataclass."""
    rows = dataclass_rows(ROOT / path, class_name)
    out = [f"Generated from `{class_name}` in `{path}` when this site was built.", ""]
    groups = list(dict.fromkeys(row[0] for row in rows))
    for group in groups:
        if len(groups) > 1:
            out += [f"### {group or 'Every model'}", ""]
        out += ["| setting | type | default | what |", "|---|---|---|---|"]
        for _, name, annotation, default, comment in (row for row in rows if row[0] == group):
            out.append(f"| `{name}` | `{annotation}` | `{default}` | {escape_cell(comment)} |")
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# The command line's --help
# ---------------------------------------------------------------------------------------------------------------
def cli_help(*command: str) -> str:
    """The --help text of `seqconv COMMAND`, as a user sees it."""
    args = [sys.executable, "-m", "flows.cli", *command, "--help"]
    env = {**os.environ, "COLUMNS": HELP_COLUMNS}
    try:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HELP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise PluginError(f"cli help: `python {' '.join(args[1:])}` took over {HELP_TIMEOUT_S} s (it should parse "
                          f"options before importing Prefect or TensorFlow)") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise PluginError(f"cli help: `python {' '.join(args[1:])}` (in {ROOT}) exited {done.returncode}: "
                          f"{done.stderr.strip()[-2000:] or 'no output'} (did flows/cli/ move?)")
    return done.stdout.rstrip()


def listed_commands(top_help: str) -> list[str]:
    """The commands `seqconv --help` lists under `commands:`."""
    commands = []
    listing = False
    for line in top_help.splitlines():
        if line.strip() == "commands:":
            listing = True
        elif listing and line.startswith("  ") and line.strip():
            commands.append(line.split()[0])
        elif listing and line.strip():
            break
    if not commands:
        raise PluginError("cli help: `seqconv --help` lists no commands under `commands:`; update "
                          "mkdocs_hooks/reference.py (listed_commands) to its new layout")
    return commands


def cli_reference() -> str:
    """Markdown: `seqconv --help`, then each command's --help."""
    top = cli_help()
    out = ["```text", f"$ seqconv --help\n{top}", "```", ""]
    for command in listed_commands(top):
        out += [f"## `seqconv {command}`", "", "```text", f"$ seqconv {command} --help\n{cli_help(command)}", "```",
                ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# mkdocstrings targets
# ---------------------------------------------------------------------------------------------------------------
def check_autodoc_target(module: str, options: str, page: str) -> None:
    """Fail, naming the page, when `::: module` names no module of the source tree, or a package that would show
    nothing: no `__all__`, nothing defined in its `__init__.py`, and no submodules asked for (`show_submodules`)."""
    base = ROOT.joinpath(*module.split("."))
    package, plain = base / "__init__.py", base.with_suffix(".py")
    if package.is_file():
        tree = ast.parse(package.read_text(encoding="utf-8"), filename=str(package))
        names_all = any(isinstance(target, ast.Name) and target.id == "__all__"
                        for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
                        for target in (node.targets if isinstance(node, ast.Assign) else [node.target]))
        defines = any(isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")
                      for node in tree.body)
        submodules = re.search(r"show_submodules:\s*true", options) and any(
            path.name != "__init__.py" for path in base.glob("*.py"))
        if not (names_all or defines or submodules):
            raise PluginError(f"docs/{page}: `::: {module}`: {package.relative_to(ROOT)} has no `__all__` and "
                              f"defines nothing, so the page would document nothing (a stage's public API is the "
                              f"names its `__all__` lists; a package used by module path needs `show_submodules: "
                              f"true` under the `:::` line)")
    elif not plain.is_file():
        raise PluginError(f"docs/{page}: `::: {module}` names a module that is not in the source tree (neither "
                          f"{package.relative_to(ROOT)} nor {plain.relative_to(ROOT)} exists): it moved or was "
                          f"renamed; update the page")


# ---------------------------------------------------------------------------------------------------------------
# Links written from the repository root, in included files
# ---------------------------------------------------------------------------------------------------------------
ROOT_LINK = re.compile(r"(\]\()docs/([^)\s]+)")


class _RootLinks(Preprocessor):
    """`](docs/x.png)` (a link from the repository root, as RESULTS.md writes it) made relative to the page."""

    def run(self, lines: list[str]) -> list[str]:
        page_dir = posixpath.dirname(_page_src) or "."
        return [ROOT_LINK.sub(lambda m: m.group(1) + posixpath.relpath(m.group(2), page_dir), line)
                for line in lines]


class _RootLinksExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 (Markdown's name)
        md.preprocessors.register(_RootLinks(md), "seqconv_root_links", 31)  # after pymdownx.snippets (32)


# ---------------------------------------------------------------------------------------------------------------
# MkDocs events
# ---------------------------------------------------------------------------------------------------------------
def on_config(config):
    config.markdown_extensions.append(_RootLinksExtension())
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    global _page_src
    _page_src = page.file.src_uri
    for module, options in AUTODOC.findall(markdown):
        check_autodoc_target(module, options, page.file.src_uri)
    markdown = SETTINGS_MARKER.sub(lambda m: settings_table(m.group(1), m.group(2)), markdown)
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown

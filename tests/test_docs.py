"""The documentation's claims that a test can check: links, commands and options exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _subcommands() -> dict[str, set[str]]:
    from napari_focalfuse.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: {s for a in p._actions for s in a.option_strings} for name, p in sub.choices.items()
    }


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_point_to_files_that_exist(doc):
    for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text()):
        if "://" not in target:
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_commands_and_options_cited_exist(doc):
    commands = _subcommands()
    text = doc.read_text()
    code = re.findall(r"```.*?```", text, re.S) + re.findall(r"`([^`\n]+)`", text)
    for command, rest in re.findall(r"napari-focalfuse ([a-z-]+)([^\n]*)", "\n".join(code)):
        assert command in commands, f"{doc.name} cites `napari-focalfuse {command}`"
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
            assert option in commands[command], f"{doc.name}: {command} has no {option}"

"""Every ``cr-einvoice`` command line in the README's shell blocks names a real verb and real options."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

from cr_einvoice.app.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"
SHELL_BLOCK = re.compile(r"^```(?:sh|console)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def readme_commands() -> list[str]:
    """Each ``cr-einvoice ...`` invocation of the shell blocks (continuations joined, comments dropped)."""
    commands: list[str] = []
    for block in SHELL_BLOCK.findall(README.read_text(encoding="utf-8")):
        for raw in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", raw.removeprefix("$ "))  # without the prompt and the comment
            if line.startswith("cr-einvoice "):
                # two commands side by side ("cr-einvoice list ...      cr-einvoice show ...")
                commands.extend("cr-einvoice " + part.strip() for part in line.split("cr-einvoice ")[1:])
    return commands


def test_the_readme_shows_commands() -> None:
    assert len(readme_commands()) > 25


def test_every_readme_command_uses_existing_verbs_and_options() -> None:
    root = build_parser()
    problems: list[str] = []
    for command in readme_commands():
        words = shlex.split(command.replace("[", " ").replace("]", " ").replace("|", " "))[1:]
        parser, path = root, ["cr-einvoice"]
        while words and (choices := _subcommands(parser)) and not words[0].startswith("-"):
            if words[0] not in choices:
                problems.append(f"{command}: {' '.join(path)} has no verb {words[0]!r}")
                words = []
                break
            parser = choices[words[0]]
            path.append(words.pop(0))
        known = _options(parser)
        for word in words:
            flag = word.split("=", 1)[0]
            if flag.startswith("-") and flag not in known:
                problems.append(f"{command}: {' '.join(path)} has no option {flag}")
    assert problems == []

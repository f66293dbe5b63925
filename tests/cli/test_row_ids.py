"""A row's number on the command line (auditor/cli/common.py ROW_ID): what no row can have is
refused by the option parser with the range, never sent to the database (a 32-bit INTEGER
column on PostgreSQL would overflow into a traceback)."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from auditor.cli.groups import ALL
from auditor.schemas.json_input import ROW_ID_MAX


def commands(group: click.Group, path: str) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        else:
            yield f"{path} {name}", command


ID_PARAMS = sorted(
    (f"{path} {param.name}", param)
    for group in ALL
    for path, command in commands(group, group.name or "")
    for param in command.params
    if param.name and (param.name.endswith("_id") or param.name == "version")
)


def test_the_commands_take_row_numbers():
    assert len(ID_PARAMS) >= 10


@pytest.mark.parametrize(("where", "param"), ID_PARAMS, ids=[w for w, _ in ID_PARAMS])
def test_every_row_number_is_bounded_by_the_row_ids(where, param):
    assert isinstance(param.type, click.IntRange), where
    assert (param.type.min, param.type.max) == (1, ROW_ID_MAX), where


@pytest.mark.parametrize(
    "args",
    [["holds", "show", str(ROW_ID_MAX + 1)], ["retention", "certificate", str(2**63)]],
)
def test_a_number_beyond_the_row_ids_is_a_usage_error(runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert f"is not in the range 1<=x<={ROW_ID_MAX}" in result.output
    assert "Traceback" not in result.output


def test_the_largest_row_id_is_looked_up_and_not_found(runner):
    result = runner.invoke(args=["holds", "show", str(ROW_ID_MAX)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "hold" in result.output.lower()

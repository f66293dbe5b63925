"""``auditor compliance``: the checks on demand, and the report in every format."""

from __future__ import annotations

import datetime as dt
import json

from tests import factories
from tests.factories.pdf import flat_text


def test_check_then_report_in_each_format(runner, session, inventory, tmp_path):
    assert "no compliance run yet" in runner.invoke(args=["compliance", "report"]).stdout
    factories.open_request(session, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=45))
    session.commit()
    checked = runner.invoke(args=["compliance", "check"])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith("compliance run ") and " new, 0 unchanged" in checked.stdout
    run_id = int(checked.stdout.split()[2].rstrip(":"))  # PostgreSQL's ids are not rolled back
    text = runner.invoke(args=["compliance", "report"]).stdout
    assert text.splitlines()[0].startswith("high ") and "requests.overdue:" in text
    as_json = json.loads(runner.invoke(args=["compliance", "report", "--format", "json"]).stdout)
    assert as_json["run"]["id"] == run_id
    sarif = json.loads(runner.invoke(args=["compliance", "report", "--format", "sarif"]).stdout)
    assert sarif["version"] == "2.1.0"
    ocsf = runner.invoke(args=["compliance", "report", "--format", "ocsf"]).stdout.splitlines()
    assert len(ocsf) == len(as_json["findings"])
    pdf_path = tmp_path / "findings.pdf"
    made = runner.invoke(
        args=["compliance", "report", "--format", "pdf", "--output", str(pdf_path)]
    )
    assert made.exit_code == 0, made.output
    words = flat_text(pdf_path.read_bytes())
    for expected in (
        "Compliance findings",
        "Dispositions due, the next 12 months",
        "Requests answered, the last 12 months",
        "What to do: Answer the request now",
        "High (",
    ):
        assert expected in words, expected
    again = runner.invoke(
        args=["compliance", "report", "--format", "pdf", "--output", str(pdf_path)]
    )
    assert again.exit_code == 1 and "not overwritten" in again.stderr
    no_output = runner.invoke(args=["compliance", "report", "--format", "pdf"])
    assert no_output.exit_code == 1 and "--output" in no_output.stderr

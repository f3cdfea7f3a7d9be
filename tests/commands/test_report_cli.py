"""``ccdesk report``, ``ccdesk dossier search|show`` and ``ccdesk demo seed`` as scripts run
them: the installed command in a subprocess, on a real database under CCDESK_HOME."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest

from tests.conftest import run_ccdesk

COUNT_KEYS = {"received": {"total", "online", "direct_postal", "carried_over"},
              "resolved": {"total", "early", "on_time", "late"},
              "in_progress": {"total", "within", "overdue"}}


def run(home: Path, *args: str, lang: str = "vi") -> subprocess.CompletedProcess[str]:
    return run_ccdesk(*args, home=home, lang=lang)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    out = run(root, "demo", "seed", "--dossiers", "400", "--days", "40", "--seed", "5",
              "--json")
    assert out.returncode == 0, out.stderr
    seeded = orjson.loads(out.stdout)
    assert seeded["dossiers"] == 400 and seeded["outbox_rows"] == seeded["events"]
    assert sum(seeded["by_status"].values()) == 400
    return root


def window() -> tuple[str, str]:
    today = date.today()
    return (today - timedelta(days=45)).isoformat(), today.isoformat()


def test_report_json_contract_and_csv_agree(home: Path) -> None:
    start, end = window()
    out = run(home, "report", "--from", start, "--to", end, "--json")
    assert out.returncode == 0, out.stderr
    data = orjson.loads(out.stdout)
    assert data["period"] == {"from": start, "to": end}
    total = data["total"]
    for key, fields in COUNT_KEYS.items():
        assert set(total[key]) == fields
    assert {"satisfaction", "channels"} <= set(total)
    r = total["received"]
    assert r["total"] == r["online"] + r["direct_postal"] + r["carried_over"] > 300
    assert r["total"] == total["resolved"]["total"] + total["in_progress"]["total"]
    assert sum(row["received"]["total"] for row in data["rows"]) == r["total"]
    assert sum(total["channels"].values()) == r["online"] + r["direct_postal"]
    assert 0 < total["satisfaction"]["rate"] <= 1 and total["fees_collected"] > 0

    out = run(home, "report", "--from", start, "--to", end, "--csv")
    assert out.returncode == 0, out.stderr
    table = list(csv.reader(io.StringIO(out.stdout)))
    assert len(table[0]) == 15 and table[0][0] == "TT"
    last, guidance = table[-2], table[-1]   # the total, then its "guidance given" line
    g = data["guidance_not_completed"]
    assert guidance[3].endswith("chưa hoàn thiện")
    assert [int(x) for x in guidance[4:8]] == [g["received"][k] for k in (
        "total", "online", "direct_postal", "carried_over")]
    assert [int(x) for x in last[4:]] == [
        r["total"], r["online"], r["direct_postal"], r["carried_over"],
        total["resolved"]["total"], total["resolved"]["early"], total["resolved"]["on_time"],
        total["resolved"]["late"], total["in_progress"]["total"],
        total["in_progress"]["within"], total["in_progress"]["overdue"]]
    numbered = [row for row in table[1:-2] if row[0]]
    assert len(numbered) == len(data["rows"])


def test_readable_table_in_english(home: Path) -> None:
    out = run(home, "report", "--period", date.today().strftime("%Y-%m"), lang="en")
    assert out.returncode == 0, out.stderr
    assert "II.06a" in out.stdout and "On-time rate" in out.stdout
    assert "Satisfaction rate" in out.stdout and "Fees collected" in out.stdout


@pytest.mark.parametrize(("args", "lang", "expected"), [
    (("report", "--period", "2026-13"), "vi", "Kỳ báo cáo: kỳ báo cáo «2026-13» không hợp lệ"),
    (("report", "--from", "1/10/2026", "--to", "2026-10-31"), "en", "From: date '1/10/2026'"),
    (("dossier", "show", "KHONG-CO"), "vi", "KHONG-CO"),
    (("dossier", "search", "  "), "en", "Search term: a search term is required"),
])
def test_bad_input_is_a_clear_message_not_a_traceback(home: Path, args, lang: str,
                                                      expected: str) -> None:
    out = run(home, *args, lang=lang)
    assert out.returncode == 2
    assert expected in out.stderr
    assert "Traceback" not in out.stderr


def test_search_then_show(home: Path) -> None:
    out = run(home, "dossier", "search", "nguyen", "--limit", "3", "--json")
    assert out.returncode == 0, out.stderr
    rows = orjson.loads(out.stdout)
    assert len(rows) == 3
    for row in rows:
        assert {"code", "applicant_name", "procedure_code", "status", "received_at",
                "due_at"} <= set(row)
    assert any(row["applicant_name"].startswith("Nguyễn") for row in rows)  # or its owner
    assert rows[0]["received_at"] >= rows[1]["received_at"] >= rows[2]["received_at"]
    code = rows[0]["code"]
    out = run(home, "dossier", "show", code, "--json")
    assert out.returncode == 0, out.stderr
    shown = orjson.loads(out.stdout)
    assert shown["code"] == code and shown["applicant_name"] == rows[0]["applicant_name"]
    assert shown["events"][0]["at"] == shown["received_at"]
    assert shown["checklist"]
    by_prefix = run(home, "dossier", "search", code[:-2], "--json")
    assert code in {r["code"] for r in orjson.loads(by_prefix.stdout)}
    readable = run(home, "dossier", "show", code, lang="en")
    assert readable.returncode == 0, readable.stderr
    assert code in readable.stdout and "History" in readable.stdout
    # the first event of any dossier: which one depends on the seeded draws
    assert any(first in readable.stdout for first in ("Accepted", "Supplement requested",
                                                      "Refused"))


def test_pdf_report_parses_back_with_the_same_figures(home: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    start, end = window()
    data = orjson.loads(run(home, "report", "--from", start, "--to", end, "--json").stdout)
    target = tmp_path / "ii06a.pdf"
    out = run(home, "report", "--from", start, "--to", end, "--pdf", "-o", str(target))
    assert out.returncode == 0, out.stderr
    assert str(target) in out.stdout
    reader = PdfReader(target)
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # landscape
    content = "\n".join(page.extract_text() for page in reader.pages)
    # a statistical form's heading: its code, the reporting and receiving units (no motto)
    assert "Biểu số II.06a/VPCP/KSTT" in content and "Đơn vị nhận báo cáo" in content
    t = data["total"]
    total_line = " ".join(str(n) for n in (
        t["received"]["total"], t["received"]["online"], t["received"]["direct_postal"],
        t["received"]["carried_over"], t["resolved"]["total"], t["resolved"]["early"],
        t["resolved"]["on_time"], t["resolved"]["late"], t["in_progress"]["total"],
        t["in_progress"]["within"], t["in_progress"]["overdue"]))
    assert f"TỔNG CỘNG {total_line}" in content
    for row in data["rows"]:
        assert row["procedure_code"] in content


def test_indicators_766_json_and_the_guidance_line(home: Path) -> None:
    start, end = window()
    out = run(home, "report", "--from", start, "--to", end, "--indicators", "766", "--json")
    assert out.returncode == 0, out.stderr
    data = orjson.loads(out.stdout)
    on_time = data["on_time"]
    assert on_time["ended"] == on_time["on_time"] + on_time["late"] > 0
    assert set(data["channels"]) == {"direct", "postal", "online_full", "online_partial"}
    assert data["digitised"] == data["reused"] == 0 and data["digitised_share"] == 0
    assert 0 <= data["satisfaction"]["index"] <= 1
    report = orjson.loads(run(home, "report", "--from", start, "--to", end, "--json").stdout)
    assert data["received"] == sum(report["channels"].values())
    guidance = report["guidance_not_completed"]
    assert set(guidance) == set(report["total"]) - {"channels", "satisfaction",
                                                    "fees_collected", "digitised", "reused"}
    assert 0 < guidance["received"]["total"] <= report["total"]["received"]["total"]
    assert guidance["resolved"]["late"] == guidance["in_progress"]["overdue"] == 0
    text = run(home, "report", "--from", start, "--to", end, "--indicators", "766",
               lang="en").stdout
    assert "Decision 766" in text and "Resolved on time" in text
    bad = run(home, "report", "--period", "2026-11", "--indicators", "767", lang="en")
    assert bad.returncode != 0 and "--indicators" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr

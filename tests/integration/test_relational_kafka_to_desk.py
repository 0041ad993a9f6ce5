"""Relational alerts (关联预警) from Kafka input to the duty desks' Redis feeds, and replay agrees.

A small simulated district: hand-built 12345 tickets, grid reports and petitions of two people
who each come back through several channels and grids under name, phone and ID variants (a
mistyped ID digit, a masked phone, a homophone), one of them escalating to petitions, and a
one-off caller who must raise nothing. The records go to a real worker's own input topics (real
broker); the worker ingests them (match tokens, no raw identifier past ingest), runs the
relational detector on the district key and routes its alerts to Redis (real server, the test's
own db and key prefix). Each relational alert reaches the feed of the territorial street (属地)
AND the feed of the department owning its category (属事), carries the linked events as evidence
and the link reasons as indicators; replaying the same records gives the same relational alert
ids, levels and evidence.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis

from warning.devtools.deskflow import alert_signature, replayed_alerts, run_through_desk, write_channel_files
from warning.settings import Settings

pytestmark = pytest.mark.integration

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=CST)
ID_A = "330302198003125415"
ID_A_TYPO = "330302198003125416"  # one digit off: the check character no longer fits
ID_B = "330302197511084428"


def _loc(grid: str) -> dict[str, str]:
    return {"street": grid[:3], "community": grid[:7], "grid_id": grid}


def _records(u: str) -> dict[str, list[dict[str, Any]]]:
    """Person A (labour, street S02): hotline, hotline, grid, petition, petition over three grids,
    spelled differently each time; person B (property, street S03): hotline, grid, hotline in
    two grids; person C: one call (quiet)."""
    hot: list[dict[str, Any]] = []
    grid: list[dict[str, Any]] = []
    pet: list[dict[str, Any]] = []

    def at(days: float, hour: int = 0) -> str:
        return (T0 + timedelta(days=days, hours=hour)).isoformat()

    def common(g: str, days: float, category: str, parties: list[dict[str, str]], text: str) -> dict[str, Any]:
        return {"schema_version": 1, "location": _loc(g), "occurred_at": at(days), "category": category,
                "parties": parties, "text": text}  # fmt: skip

    firm = {"role": "respondent", "name": "鑫源建筑劳务有限公司"}
    a_texts = "反映鑫源公司拖欠工资三个月。", "再次反映工资仍未发放。"
    hot.append({**common("S02-C01-G03", 0, "labour", [{"role": "complainant", "name": "张伟强",
                "phone": "15512349505"}, firm], a_texts[0]), "ticket_no": f"H{u}-A1"})  # fmt: skip
    hot.append({**common("S02-C01-G03", 4, "labour", [{"role": "complainant", "name": "张先生",
                "phone": "155****9505"}, firm], a_texts[1]), "ticket_no": f"H{u}-A2"})  # fmt: skip
    grid.append({**common("S02-C01-G04", 7, "labour", [{"role": "complainant", "name": "张伟强", "id_number": ID_A,
                 "phone": "15512349505"}, firm], "网格员走访,当事人反映被拖欠工资。"),
                 "report_id": f"G{u}-A3", "worker_id": "W7"})  # fmt: skip
    for i, (day, name, idn) in enumerate(((11, "张炜强", ID_A_TYPO), (18, "张伟强", ID_A))):
        pet.append({**common("S02-C02-G01", day, "labour", [{"role": "complainant", "name": name, "id_number": idn},
                    firm], "来访反映拖欠工资,要求尽快解决。"), "case_no": f"XF{u}-A{i}", "case_ref": f"XF{u}-A",
                    "form": "visit", "is_repeat": i > 0, "visit_count": i + 1})  # fmt: skip
    b = [{"role": "complainant", "name": "李秀英", "id_number": ID_B, "phone": "13905718823"}]
    hot.append({**common("S03-C02-G01", 1, "property", b, "反映物业不作为,电梯长期故障。"), "ticket_no": f"H{u}-B1"})
    grid.append({**common("S03-C02-G02", 5, "property", [{"role": "complainant", "name": "李秀樱",
                 "phone": "139****8823"}], "居民反映电梯故障未修。"),
                 "report_id": f"G{u}-B2", "worker_id": "W9"})  # fmt: skip
    hot.append({**common("S03-C02-G01", 9, "property", [{"role": "complainant", "name": "李女士",
                "phone": "13905718823"}], "第三次反映电梯故障。"), "ticket_no": f"H{u}-B3"})  # fmt: skip
    hot.append({**common("S01-C01-G01", 3, "neighbour", [{"role": "complainant", "name": "王建国",
                "phone": "13800001234"}], "反映邻居装修噪音。"), "ticket_no": f"H{u}-C1"})  # fmt: skip
    return {"petitions": pet, "hotline-calls": hot, "grid-reports": grid}


def test_relational_alerts_flow_from_kafka_to_street_and_department_desks_and_replay_agrees(
    stack: Settings, tmp_path: Path, unique: str, redis_client: redis.Redis
) -> None:
    data = tmp_path / "data"
    records = _records(unique)
    write_channel_files(data, records)
    replayed = replayed_alerts(data, stack)
    rel = [a for a in replayed if a["type"] == "relational"]
    rel_ids = {a["alert_id"] for a in rel}
    final = {a["alert_id"]: a for a in rel}  # last emission per id (an upgrade keeps the id)
    assert {a["unit"] for a in final.values()} == {"S02", "S03"}, final  # C is quiet; one alert per person
    assert len(final) == 2, final

    run = run_through_desk(stack, tmp_path / "engine", unique, redis_client, records, expect=len(replayed), ids=rel_ids)
    streamed, stored, feeds, on_feed, engine = run.streamed, run.stored, run.feeds, run.on_feed, run.engine
    assert run.dead == 0, engine.log_tail()
    # replay of the same input: the same relational alert ids, levels and evidence
    assert alert_signature(streamed, "relational") == alert_signature(replayed, "relational"), engine.log_tail()
    assert on_feed == {i: set(names) for i, names in feeds.items()}, "each alert is on every feed it names"

    desk = {i: json.loads(h[b"alert"]) for i, h in stored.items()}
    by_unit = {a["unit"]: a for a in desk.values()}
    a, b = by_unit["S02"], by_unit["S03"]
    # 属地 + 属事: the street's desk and the department owning the category
    assert {"S02", "dept:rsj", "all"} <= set(feeds[a["alert_id"]]), feeds
    assert {"S03", "dept:zjj", "all"} <= set(feeds[b["alert_id"]]), feeds
    assert a["level"] == final[a["alert_id"]]["level"] == "orange"  # hotline/grid -> petition, 5 contacts
    assert "district" in feeds[a["alert_id"]]  # orange also goes to the command centre
    assert b["level"] == "yellow"
    for alert, contacts in ((a, 5), (b, 3)):
        assert alert["details"]["kind"] == "cross_channel_person"
        assert len(alert["evidence"]) == contacts, alert["evidence"]  # the linked events
        reasons = [i["label"] for i in alert["indicators"] if i["name"] == "link_reason"]
        assert reasons and all(r for r in reasons), alert["indicators"]  # why the mentions are one person
        assert not any(n in alert["title"] for n in ("张", "李")), alert["title"]  # no names in titles
    a_reasons = [i["label"] for i in a["indicators"] if i["name"] == "link_reason"]
    assert any("身份证号" in r for r in a_reasons) and any("手机号" in r for r in a_reasons), a_reasons
    assert any(i["name"] == "escalation_to_petition" for i in a["indicators"])

"""Case alerts (个案预警) from Kafka input to the duty desks' Redis feeds, and replay agrees.

Hand-built petitions, 12345 tickets and grid reports for four cases go to a real worker's own
input topics (real broker): the worker ingests them, keys them by case, runs the case detector
with the shipped model, and its router writes the alerts to Redis (real server, the test's own
db and key prefix). Each case alert on the desk carries a score, the indicators that fired, the
model's top contributing features, the dispatch level and referrals. The replay shell over the
same records gives the same case alert ids, levels and evidence.
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
LOC = {"street": "S02", "community": "S02-C01", "grid_id": "S02-C01-G03"}


def _party(n: int) -> list[dict[str, str]]:
    return [{"role": "complainant", "name": f"当事人{n}", "id_number": f"33032219800101{n:03d}X"}]


def _records(u: str) -> dict[str, list[dict[str, Any]]]:
    """Four cases: a threat after a failed mediation, a fast climb to province, despair with debt,
    and a quiet one that should raise nothing. Each petition registration has its own case_no
    (its event id) and names the case it belongs to in case_ref, as the simulator writes them."""
    a, b, c, d = (f"XF{u}-{x}" for x in "ABCD")
    pet: list[dict[str, Any]] = []
    hot: list[dict[str, Any]] = []
    grid: list[dict[str, Any]] = []

    def at(days: float) -> str:
        return (T0 + timedelta(days=days)).isoformat()

    base = {"schema_version": 1, "location": LOC}
    # A: hotline, grid mediation fails, then a petition with an extreme threat
    hot.append({**base, "ticket_no": f"H{u}-1", "occurred_at": at(0), "category": "debt", "parties": _party(1),
                "case_ref": a, "text": "反映借款被拖欠两年,对方拒不归还。"})  # fmt: skip
    grid.append({**base, "report_id": f"G{u}-1", "worker_id": "W1", "occurred_at": at(3), "category": "debt",
                 "parties": _party(1), "case_ref": a, "text": "网格员组织双方调解未果,当事人情绪激动。"})  # fmt: skip
    pet.append({**base, "case_no": f"{a}-1", "case_ref": a, "form": "visit", "occurred_at": at(6),
                "category": "debt", "parties": _party(1),
                "is_repeat": True, "visit_count": 2, "text": "再次来访,称欠款12万元再不还就同归于尽。"})  # fmt: skip
    # B: petitions district -> city -> province within three weeks after a failed mediation
    for i, (level, day) in enumerate((("district", 1), ("city", 9), ("province", 20))):
        pet.append({**base, "case_no": f"{b}-{i}", "case_ref": b, "form": "visit", "occurred_at": at(day),
                    "category": "land",
                    "parties": _party(2), "is_repeat": i > 0, "visit_count": i + 1, "level_reached": level,
                    "headcount": 3, "text": "征迁补偿协商未果,要求重新评估。"})  # fmt: skip
    # C: 12345 calls with despair and life stress
    for i, day in enumerate((2, 4, 5)):
        hot.append({**base, "ticket_no": f"H{u}-C{i}", "occurred_at": at(day), "category": "labour",
                    "parties": _party(3), "case_ref": c, "repeat_count": i, "satisfaction": "dissatisfied",
                    "text": "失业半年,欠债还不上,工资一直被拖欠,实在活不下去了。"})  # fmt: skip
    # D: one consultation, nothing unusual
    hot.append({**base, "ticket_no": f"H{u}-D", "occurred_at": at(8), "category": "property", "parties": _party(4),
                "case_ref": d, "request_type": "consult", "text": "咨询物业费收费标准。"})  # fmt: skip
    return {"petitions": pet, "hotline-calls": hot, "grid-reports": grid}


def test_case_alerts_flow_from_kafka_to_the_desk_and_replay_agrees(
    stack: Settings, tmp_path: Path, unique: str, redis_client: redis.Redis
) -> None:
    data = tmp_path / "data"
    records = _records(unique)
    write_channel_files(data, records)
    replayed = replayed_alerts(data, stack)
    case_ids = {a["alert_id"] for a in replayed if a["type"] == "case"}
    subjects = {a["subject"] for a in replayed if a["type"] == "case"}
    assert subjects == {f"XF{unique}-{x}" for x in "ABC"}, subjects  # D is quiet
    assert all(a["score"] is not None for a in replayed if a["type"] == "case"), "the shipped model scores"

    run = run_through_desk(
        stack, tmp_path / "engine", unique, redis_client, records, expect=len(replayed), ids=case_ids
    )
    streamed, stored, feeds, on_feed, engine = run.streamed, run.stored, run.feeds, run.on_feed, run.engine
    assert run.dead == 0, engine.log_tail()
    assert alert_signature(streamed, "case") == alert_signature(replayed, "case"), engine.log_tail()
    assert on_feed == {i: set(names) for i, names in feeds.items()}, "each case alert is on every feed it names"
    assert all({"district", "all"} <= set(names) for names in feeds.values()), feeds  # graded routing

    desk = {i: json.loads(h[b"alert"]) for i, h in stored.items()}
    by_subject = {a["subject"]: a for a in desk.values()}
    final = {a["alert_id"]: a for a in replayed if a["type"] == "case"}  # last emission per id
    for alert_id, alert in desk.items():
        assert alert["level"] == final[alert_id]["level"]
        assert alert["score"] is not None and 0.0 <= alert["score"] <= 1.0
        assert alert["details"]["human_decides"] is True and alert["details"]["dispatch"]
        names = [i["name"] for i in alert["indicators"]]
        assert any(n.startswith("model:") for n in names) or alert["details"]["rules"], names
        for top in alert["details"]["top_features"]:
            assert top["contribution"] > 0 and top["label"]
    a, b, c = (by_subject[f"XF{unique}-{x}"] for x in "ABC")
    assert a["level"] == "red" and "extreme_threat" in a["details"]["rules"]
    # the desk reads the triggering event's scrubbed excerpt without the audited details route
    assert any("同归于尽" in e["text"] and e["channel"] == "petition" for e in a["excerpts"]), a.get("excerpts")
    assert set(a["excerpts"][0]) == {"event_id", "channel", "occurred_at", "category", "text"}
    assert "心理干预" in a["details"]["referrals"] and "法律援助" in a["details"]["referrals"]
    assert "province_after_failed_mediation" in b["details"]["rules"]
    assert "despair_with_stress" in c["details"]["rules"] and "困难救助" in c["details"]["referrals"]

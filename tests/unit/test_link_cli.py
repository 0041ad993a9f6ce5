"""`warning link FILE.csv --map MAP.toml --out CLUSTERS.csv` on arbitrary CSVs (issue 11 spec)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from warning.analysis.link import ColumnMap, MappingError
from warning.cli import app

CSV = """编号,姓名,身份证,手机,生日,街道,门牌,备注
A1,陈伟强,330302194405289687,15512349505,1944-05-28,北岙街道,海滨路12号,x
A2,陳偉強,330302194405289687,155****9505,,北岙街道,海滨路12号,y
A3,张炜,,13900001111,1980年1月2日,,,
A4,张炜,,139 0000 1111,19800102,,,
A5,李娜,330381198001010013,,not-a-date,东屏街道,人民路5号,
A6,bad,row
,无编号,,13800000000,,,,
A1,重复,,13800000000,,,,
A9,王女士,,155****9505,,北岙街道,,
"""
MAP = """[columns]
record_id = "编号"
name = "姓名"
id_number = "身份证"
phone = "手机"
birth_date = "生日"
address = ["街道", "门牌"]
"""


def run(tmp_path: Path, csv_text: str, map_text: str) -> tuple[int, str, dict[str, str]]:
    src, cmap, out = tmp_path / "people.csv", tmp_path / "map.toml", tmp_path / "clusters.csv"
    src.write_text(csv_text, encoding="utf-8")
    cmap.write_text(map_text, encoding="utf-8")
    result = CliRunner().invoke(app, ["link", str(src), "--map", str(cmap), "--out", str(out)])
    rows = {}
    if out.exists():
        with out.open(encoding="utf-8") as f:
            rows = {r["record_id"]: r["cluster_id"] for r in csv.DictReader(f)}
    return result.exit_code, result.output, rows


def test_links_variants_reports_bad_rows_and_keeps_the_rest(tmp_path: Path) -> None:
    code, output, clusters = run(tmp_path, CSV, MAP)
    assert code == 0, output
    assert set(clusters) == {"A1", "A2", "A3", "A4", "A5", "A9"}  # singletons included
    assert clusters["A1"] == clusters["A2"]  # 繁简 + masked phone + same ID
    assert clusters["A3"] == clusters["A4"]  # phone formats, birth-date formats
    assert clusters["A5"] not in {clusters["A1"], clusters["A3"]}
    assert "row 7: expected 8 cells, got 3; left out" in output
    assert "row 8: empty record id; left out" in output
    assert "row 9: record id 'A1' repeats an earlier row; left out" in output
    assert "row 6: birth date 'not-a-date' is not a date" in output
    assert "linked 6 records into" in output and "largest" in output and " s;" in output


def test_given_and_family_name_columns_even_swapped(tmp_path: Path) -> None:
    text = "id,first,last,dob,zip\n1,John,Smith,07/14/1978,1\n2,Smith,John,1978-07-14,2\n3,Mary,Jones,1990-01-01,3\n"
    code, output, clusters = run(
        tmp_path, text, '[columns]\nrecord_id = "id"\ngiven_name = "first"\nfamily_name = "last"\nbirth_date = "dob"\n'
    )
    assert code == 0, output
    assert clusters["1"] == clusters["2"] != clusters["3"]


def test_without_record_id_the_line_number_is_the_id(tmp_path: Path) -> None:
    code, output, clusters = run(
        tmp_path, "name,phone\n张三,13900001111\n张三,13900001111\n", '[columns]\nname = "name"\nphone = "phone"\n'
    )
    assert code == 0, output
    assert clusters == {"2": clusters["2"], "3": clusters["2"]}


@pytest.mark.parametrize(
    ("map_text", "message"),
    [
        ('[columns]\nnmae = "姓名"\n', 'unknown field "nmae"'),
        ("x = 1\n", "needs a [columns] table"),
        ('[columns]\ngiven_name = "a"\n', "given_name and family_name go together"),
        ('[columns]\nbirth_date = "生日"\n', "map at least one of"),
        ('[columns]\nname = ["a", "b"]\n', "takes one column"),
    ],
)
def test_bad_mapping_files_say_what_is_wrong(map_text: str, message: str) -> None:
    with pytest.raises(MappingError, match=re.escape(message)):
        ColumnMap.parse(map_text)


def test_a_mapped_column_missing_from_the_csv(tmp_path: Path) -> None:
    code, output, _ = run(tmp_path, "a,b\n1,2\n", '[columns]\nname = "姓名"\n')
    assert code == 2
    assert "not in the CSV header" in output


@pytest.mark.parametrize(
    ("header", "rows", "map_text"),
    [
        ("tel", ["13900001111", "139-0000-1111", "13800002222"], '[columns]\nphone = "tel"\n'),
        (
            "sfz",
            ["330302194405289687", "330302-19440528-9687", "330381198001010013"],
            '[columns]\nid_number = "sfz"\n',
        ),
    ],
)
def test_any_single_column_is_enough(tmp_path: Path, header: str, rows: list[str], map_text: str) -> None:
    # (a name alone is mapped too, but links nobody: same-name strangers are too common)
    code, output, clusters = run(tmp_path, header + "\n" + "\n".join(rows) + "\n", map_text)
    assert code == 0, output
    assert clusters["2"] == clusters["3"] != clusters["4"]
    assert "linked 3 records into 2 clusters (largest 2)" in output


def test_birth_date_formats_and_gender_link_and_separate(tmp_path: Path) -> None:
    text = "姓名,出生,性别\n王建国,1978-07-14,男\n王建国,19780714,男\n王建国,1978年7月14日,\n王建国,1983-02-01,男\n"
    code, output, clusters = run(tmp_path, text, '[columns]\nname = "姓名"\nbirth_date = "出生"\ngender = "性别"\n')
    assert code == 0, output
    assert clusters["2"] == clusters["3"] == clusters["4"] != clusters["5"]  # same name, other birth date


def test_address_columns_are_joined_in_order() -> None:
    from io import StringIO

    from warning.analysis.link import read_records
    from warning.core.tokens import Tokeniser

    tok = Tokeniser(b"0123456789abcdef-test")
    cmap = ColumnMap.parse('[columns]\nname = "n"\naddress = ["street", "house"]\n')
    records, problems = read_records(StringIO("n,house,street\n李娜,5号,人民路\n"), cmap, tok)
    assert problems == []
    assert set(tok.address("人民路 5号")) <= set(records[0][1])


def test_progress_bar_sees_every_record(tmp_path: Path) -> None:
    from io import StringIO

    from warning.analysis.link import _progress_bar, link_file
    from warning.core.detectors.relational.resolve import ResolverParams
    from warning.core.tokens import Tokeniser

    seen: list[int] = []

    def progress(items: Iterable[Any], total: int) -> Iterable[Any]:
        seen.append(total)
        return _progress_bar(items, total)

    text = "n,p\n" + "".join(f"张{i},1390000{i:04d}\n" for i in range(30))
    cmap = ColumnMap.parse('[columns]\nname = "n"\nphone = "p"\n')
    result = link_file(StringIO(text), cmap, Tokeniser(b"0123456789abcdef-test"), ResolverParams(), None, progress)
    assert seen == [30] and len(result.clusters) == 30

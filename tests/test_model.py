from pathlib import Path

import pytest

from kpi import model

ROOT = Path(__file__).resolve().parents[1]


def test_docs_are_generated_from_the_model():
    doc = (ROOT / "docs" / "data-model.md").read_text()
    assert doc == model.markdown() + "\n", "docs/data-model.md is stale: run `kpi docs`"


def test_every_table_of_the_issue_is_in_the_model():
    needed = {
        "children",
        "contacts",
        "early_help_episodes",
        "referrals",
        "assessments",
        "strategy_discussions",
        "s47_enquiries",
        "icpcs",
        "cin_plans",
        "cp_plans",
        "care_episodes",
        "health_assessments",
        "dental_checks",
        "sdq_scores",
        "visits",
        "care_leavers",
        "care_leaver_contacts",
        "staff",
        "case_allocations",
        "supervisions",
        "audits",
        "population",
    }
    assert needed <= set(model.TABLE_BY_NAME)


def test_load_order_puts_parents_first():
    seen = set()
    for t in model.load_order():
        assert t.parents <= seen, t.name
        seen.add(t.name)
    assert len(seen) == len(model.TABLES)


def test_placement_codes_are_ssda903():
    place = model.table("care_episodes").column("placement_type").codes
    assert {"U1", "U6", "K2", "H5", "P1", "A6", "R1", "S1", "Z1"} <= set(place)
    assert set(model.RESIDENTIAL_PLACEMENTS) <= set(place)


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="carry codes"):
        model.Column("x", "code", "no codes")
    with pytest.raises(ValueError, match="unknown type"):
        model.Column("x", "money", "bad type")
    with pytest.raises(ValueError, match="not a date"):
        model.Table("t", "t", (model.Column("a", "str", "a"), model.Column("b", "date", "b")), date_order=(("a", "b"),))

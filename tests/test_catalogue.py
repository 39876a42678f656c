import textwrap

import pytest

from kpi.catalogue import CatalogueError, load, parse, targets_for


def one(**over) -> str:
    m = {
        "ref": "1.7",
        "title": "Re-referrals",
        "section": "volume",
        "unit": "percent",
        "kind": "flow",
        "direction": "lower",
        "target": 18,
        "tolerance": 21,
        "definition": "Repeat referrals.",
        "parts": [{"events": "referrals", "date": "referral_date", "num": "TRUE"}],
    }
    m.update(over)
    import yaml

    return yaml.safe_dump({"measures": [m]})


def test_the_county_catalogue_loads():
    cat = load("county")
    assert len(cat.measures) == 61
    assert cat["1.7"].kpi == 3 and cat["1.7"].target == 18 and cat["1.7"].tolerance == 21
    assert cat["7.4"].decimals == 1 and cat["7.4"].target == 90  # YAML merge keys carry the care leaver defaults
    assert {m.section for m in cat.measures} == {"volume", "process", "impact", "workforce", "audit"}


def test_definition_changes_of_the_seed_are_recorded():
    cat = load("county")
    changed = {m.kpi for m in cat.measures if m.history and m.kpi}
    assert {6, 11, 15} <= changed  # seed 000: KPIs 6, 11 and 15 changed definition
    assert "2 years" in cat["5.2"].history[0]["change"]


@pytest.mark.parametrize(
    "over, message",
    [
        ({"direction": "higher"}, "tolerance (21) must lie below or at the target (18)"),
        ({"unit": "money"}, "unit must be one of"),
        ({"section": "misc"}, "section must be one of"),
        ({"parts": [{"events": "nowhere", "date": "d"}]}, "no table 'nowhere'"),
        ({"parts": [{"events": "referrals"}]}, "an events part needs `date`"),
        (
            {"parts": [{"events": "referrals", "date": "referral_date", "colour": "red", "num": "TRUE"}]},
            "unknown part field(s) colour",
        ),
        ({"parts": [{"events": "referrals", "date": "referral_date"}]}, "a percent needs a numerator"),
        ({"target": "high"}, "target must be a number or TBC"),
        ({"direction": "none"}, "direction none (a volume) has no target or tolerance"),
        ({"direction": "up"}, "direction must be higher, lower or none"),
    ],
)
def test_bad_declarations_are_refused_with_the_reason(over, message):
    with pytest.raises(CatalogueError) as e:
        parse(one(**over), "test")
    assert message in str(e.value) and "measure 1.7" in str(e.value)


def test_duplicate_references_and_kpi_numbers_are_refused():
    doc = one()
    twice = doc + textwrap.indent(doc.split("measures:\n", 1)[1], "")
    with pytest.raises(CatalogueError, match="1.7 declared more than once"):
        parse(twice, "test")


def test_targets_can_be_overridden_per_financial_year():
    m = load("county")["1.7"]
    over = {"2025-26": {"1.7": {"target": 17, "tolerance": 20}}}
    assert targets_for(m, "2025-03", over) == (18, 21)  # still 2024-25
    assert targets_for(m, "2025-04", over) == (17, 20)
    assert targets_for(m, "2026-03", over) == (17, 20)
    assert targets_for(m, "2026-04", over) == (18, 21)
    assert targets_for(m, "2025-06", None) == (18, 21)


def test_a_volume_is_declared_without_a_direction():
    text = "sections: [{key: volume, title: Volume}]\n" + one(
        unit="count", direction="none", target=None, tolerance=None
    )
    m = parse(text, "test")["1.7"]
    assert m.direction is None
    # the journey set's volumes have none (seed 004 judges none); the county's contacts keep theirs (seed 001)
    assert load("journey")["D1"].direction is None and load("county")["1.0"].direction == "lower"
    assert load("journey")["D4"].direction == "lower"  # repeat referrals: fewer is better

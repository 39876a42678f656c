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
    # seed 003's 58 references, 3.4, and seed 001's and 003's 1.9-1.10, 7.9-7.10, 9.3-9.10
    assert len(cat.measures) == 71
    assert cat["1.7"].kpi == 3 and cat["1.7"].target == 18 and cat["1.7"].tolerance == 21
    assert cat["7.4"].decimals == 1 and cat["7.4"].target == 90  # YAML merge keys carry the care leaver defaults
    assert {m.section for m in cat.measures} == {"volume", "process", "impact", "workforce", "audit"}


def test_definition_changes_of_the_seed_are_recorded():
    cat = load("county")
    changed = {m.kpi for m in cat.measures if m.history and m.kpi}
    assert {6, 11, 15} <= changed  # seed 000: KPIs 6, 11 and 15 changed definition
    assert "2 years" in cat["5.2"].history[0].change


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


def test_comparators_of_another_definition_are_named_by_it():
    """A comparator declaring `definition:` counts something else than the measure: its name says what (A205)."""
    base = """
        sections: [{key: process, title: Process}]
        measures:
          - ref: R1
            title: Repeat plans
            section: process
            unit: percent
            kind: flow
            direction: lower
            definition: Plans started within 2 years of a previous one.
            comparators: {definition: any previous plan, england: 23, year: 2024/25}
            parts: [{events: cp_plans, date: start_date, num: "TRUE"}]
    """
    m = parse(textwrap.dedent(base))["R1"]
    assert m.comparator_definition == "any previous plan"
    assert (m.comparator_name("england"), m.comparator_name("statistical_neighbours")) == (
        "England, any previous plan",
        "Neighbours, any previous plan",
    )
    assert load("county")["1.7"].comparator_name("england") == "England"  # the same definition: no label
    with pytest.raises(CatalogueError, match=r"unknown comparators field\(s\) defintion"):
        parse(textwrap.dedent(base.replace("{definition:", "{defintion:")))
    with pytest.raises(CatalogueError, match="comparators.definition: expected what the comparators count"):
        parse(textwrap.dedent(base.replace("definition: any previous plan,", "definition: '',")))


def test_5_2_and_6_8_comparators_are_labelled_as_the_definitions_they_count():
    """The DfE's repeat plans count a previous plan "regardless of how long ago"; the seed's 6.8 figures are of
    placements more than 20 miles away. A set reusing 5.2 keeps where it is published and what that counts."""
    county, journey = load("county"), load("journey")
    assert county["5.2"].comparator_definition == "any previous plan"
    assert county["6.8"].comparator_definition == "placed more than 20 miles away"
    assert journey["D12"].dfe == county["5.2"].dfe
    assert journey["D12"].comparator_definition == "any previous plan"
    assert journey["D12"].england is None  # the county's own figures still do not come along


def test_settles_is_a_number_of_days_and_is_inherited(tmp_path):
    assert load("county")["3.1"].settles == 30 and load("county")["3.0"].settles is None
    m = """
    sections: [{key: process, title: Process}]
    measures:
      - ref: "1"
        title: T
        section: process
        unit: percent
        kind: flow
        direction: lower
        definition: d
        parts: [{events: s47_enquiries, date: start_date, num: "t.outcome = 'ICPC'"}]
        settles: SETTLES
    """
    for bad in ("soon", "0", "-3", "2.5", "true"):
        with pytest.raises(CatalogueError, match="settles must be a whole number of days"):
            parse(textwrap.dedent(m.replace("SETTLES", bad)))
    assert parse(textwrap.dedent(m.replace("SETTLES", "45")))["1"].settles == 45
    inherited = """
    sections: [{key: process, title: Process}]
    measures:
      - {from: county/3.1, ref: "X", section: process}
    """
    assert parse(textwrap.dedent(inherited))["X"].settles == 30

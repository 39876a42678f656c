import pytest

from kpi.status import compare, rag


@pytest.mark.parametrize(
    "value, expected",
    [(96, "green"), (95, "green"), (94.9, "amber"), (85, "amber"), (84.9, "red")],
)
def test_rag_when_higher_is_better(value, expected):
    assert rag(value, 95, 85, "higher") == expected


@pytest.mark.parametrize(
    "value, expected",
    [(17, "green"), (18, "green"), (18.1, "amber"), (21, "amber"), (21.1, "red")],
)
def test_rag_when_lower_is_better(value, expected):
    assert rag(value, 18, 21, "lower") == expected


def test_no_rag_without_a_value_target_or_tolerance():
    assert rag(None, 18, 21, "lower") is None
    assert rag(20, None, 21, "lower") is None
    assert rag(20, 90, None, "higher") is None
    assert rag(float("nan"), 18, 21, "lower") is None
    with pytest.raises(ValueError):
        rag(20, 18, 21, "sideways")


def test_better_or_worse_follows_the_direction():
    assert compare(23, 21, "lower") == "worse"
    assert compare(23, 21, "higher") == "better"
    assert compare(21, 21, "higher") == "same"
    assert compare(21, None, "higher") is None


def test_a_volume_has_no_rag_and_is_only_higher_or_lower():
    assert rag(5, 4, 6, None) is None
    assert (compare(12, 10, None), compare(8, 10, None), compare(10, 10, None)) == ("higher", "lower", "same")

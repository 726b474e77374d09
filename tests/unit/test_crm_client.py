"""The CRM client's handling of refused fields: the item or field named by the CRM's 422 goes."""

from __future__ import annotations

from looma_crm.client import without


def test_a_bad_list_item_is_dropped_and_the_rest_kept() -> None:
    body = {"name": "张伟", "links": ["https://ok.example", "not a link", "https://also.example"]}

    assert without(body, "body.links.1") is True
    assert body["links"] == ["https://ok.example", "https://also.example"]


def test_a_bad_nested_field_drops_its_whole_item() -> None:
    body = {"name": "张伟", "experience": [{"company": "A", "start": "2020", "end": "2019"}, {"company": "B"}]}

    assert without(body, "body.experience.0.end") is True
    assert body["experience"] == [{"company": "B"}]


def test_a_bad_scalar_field_is_dropped() -> None:
    body = {"name": "张伟", "years_of_experience": 120}

    assert without(body, "body.years_of_experience") is True
    assert "years_of_experience" not in body


def test_the_name_and_unknown_paths_are_never_dropped() -> None:
    body = {"name": "x" * 500, "links": []}

    assert without(body, "body.name") is False
    assert without(body, "body.links.3") is False
    assert without(body, "body") is False
    assert body == {"name": "x" * 500, "links": []}

"""What the CRM's entities look like to the full-text index and the relationship graph.

Each write records an outbox event (shared/database/outbox.py) in its own transaction; the
projector delivers it. Talents become `Talent` nodes with WORKED_AT and STUDIED_AT edges to
`Employer` and `School` nodes (derived from experience and education, one per org and folded
name) and an edge per relationship they are the source of. Employer and school nodes get an
event of their own (version 1: a name never changes), recorded before the talent's, so that
both ends of every edge exist when the edge is written.
"""

from __future__ import annotations

import hashlib
from typing import Any

from looma_crm.contacts import name_key
from shared.database.outbox import OutboxEvent

RELATIONSHIP_EDGES = {"colleague": "COLLEAGUE", "mentor": "MENTOR", "referral": "REFERRAL", "friend": "FRIEND",
                      "business_partner": "BUSINESS_PARTNER"}


def place_id(kind: str, name: str) -> str:
    """The graph id of an employer or school: stable for the same folded name."""
    return f"{kind}:{hashlib.sha1(name_key(name).encode()).hexdigest()[:20]}"


def employers(data: dict[str, Any]) -> dict[str, str]:
    names = [e.get("company") for e in data.get("experience", [])] + [data.get("current_company")]
    return {place_id("employer", n): n for n in names if n and name_key(n)}


def schools(data: dict[str, Any]) -> dict[str, str]:
    names = [e.get("school") for e in data.get("education", [])]
    return {place_id("school", n): n for n in names if n and name_key(n)}


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p)


def talent_events(row: dict[str, Any], relationships: list[dict[str, Any]]) -> list[OutboxEvent]:
    data, org = row["data"], row["org_id"]
    if row.get("deleted_at") is not None:
        return [OutboxEvent(org_id=org, entity_type="talent", entity_id=row["id"], version=row["revision"],
                            operation="delete", payload={"graph": {"label": "Talent"},
                                                         "fulltext": {"index": "talents"},
                                                         "vectors": {"collection": "talents"}})]
    places = [("Employer", node, name) for node, name in employers(data).items()] + \
             [("School", node, name) for node, name in schools(data).items()]
    events = [OutboxEvent(org_id=org, entity_type=label.lower(), entity_id=node, version=1, operation="upsert",
                          payload={"graph": {"label": label, "properties": {"name": name}}})
              for label, node, name in places]
    edges = [{"type": "WORKED_AT" if label == "Employer" else "STUDIED_AT", "target": node}
             for label, node, _ in places]
    edges += [{"type": RELATIONSHIP_EDGES[r["type"]], "target": r["target_id"],
               "properties": {"strength": r["strength"], "relationship_id": r["id"]}} for r in relationships]
    skills = data.get("skills", [])
    fields = talent_fields(data)
    filters = {"city": data.get("city"), "skills": [s["skill_id"] or f"name:{name_key(s['name'])}" for s in skills],
               "job_status": data.get("job_status"), "tags": [t.casefold() for t in data.get("tags", [])],
               "source": data.get("source")}
    properties = {"name": data["name"], "title": data.get("current_title"), "company": data.get("current_company"),
                  "city": data.get("city")}
    narrowing = {k: v for k, v in filters.items() if v}
    events.append(OutboxEvent(org_id=org, entity_type="talent", entity_id=row["id"], version=row["revision"],
                              operation="upsert", payload={
                                  "graph": {"label": "Talent", "properties": {k: v for k, v in properties.items()
                                                                              if v is not None}, "edges": edges},
                                  "fulltext": {"index": "talents", "fields": fields, "filters": narrowing},
                                  "vectors": {"collection": "talents", "text": talent_passage(data),
                                              "metadata": narrowing}}))
    return events


def talent_passage(data: dict[str, Any]) -> str:
    """What the talent's vector is made from: their work, skills and schooling, most telling first.

    The name is left out: it says nothing of fit, and keeps a personal identifier out of the model's
    input. The model reads the first few hundred tokens, so the headline and skills come first.
    """
    fields = talent_fields(data)
    headline = _join(data.get("current_title"), data.get("current_company") and f"@ {data['current_company']}")
    return "\n".join(part for part in (headline, fields["skills"], fields["summary"], fields["experience"],
                                       fields["education"], fields["tags"]) if part)


def talent_fields(data: dict[str, Any]) -> dict[str, str]:
    """The talent's text as the `talents` index holds it (and as search highlights are cut from)."""
    skills = data.get("skills", [])
    return {
        "name": data["name"],
        "title": data.get("current_title") or "",
        "company": _join(data.get("current_company"), *(e.get("company") for e in data.get("experience", []))),
        "summary": data.get("summary") or "",
        "skills": _join(*(s.get("display") for s in skills), *(s.get("name") for s in skills)),
        "experience": _join(*(_join(e.get("title"), e.get("description")) for e in data.get("experience", []))),
        "education": _join(*(_join(e.get("school"), e.get("major"), e.get("degree"))
                             for e in data.get("education", []))),
        "tags": _join(*data.get("tags", [])),
    }


def job_events(row: dict[str, Any]) -> list[OutboxEvent]:
    data, org = row["data"], row["org_id"]
    if row.get("deleted_at") is not None:
        return [OutboxEvent(org_id=org, entity_type="job", entity_id=row["id"], version=row["revision"],
                            operation="delete", payload={"fulltext": {"index": "jobs"},
                                                         "vectors": {"collection": "jobs"}})]
    skills = (data.get("requirements") or {}).get("skills", [])
    fields = {"title": data["title"], "description": data["description"],
              "skills": _join(*(s.get("display") for s in skills)), "locations": _join(*data.get("locations", []))}
    filters = {"status": data.get("status"), "company_id": data.get("company_id"),
               "skills": [s["skill_id"] or f"name:{name_key(s['name'])}" for s in skills]}
    narrowing = {k: v for k, v in filters.items() if v}
    passage = "\n".join(part for part in (fields["title"], fields["skills"], fields["locations"], fields["description"])
                        if part)
    return [OutboxEvent(org_id=org, entity_type="job", entity_id=row["id"], version=row["revision"],
                        operation="upsert", payload={"fulltext": {"index": "jobs", "fields": fields,
                                                                  "filters": narrowing},
                                                     "vectors": {"collection": "jobs", "text": passage,
                                                                 "metadata": narrowing}})]

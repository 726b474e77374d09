"""The GraphStore contract, run against the relational graph (SQLite, PostgreSQL) and Neo4jGraph.

Neo4jGraph runs against ArcadeDB's Bolt server (tests/contract/bolt_server.py), the real Bolt/Cypher
server these machines can run. Where the backends may differ:
- which of several equally short paths `shortest_path` picks: the suite checks it is one of
  `all_shortest_paths`;
- changing a node's label, which ArcadeDB cannot do in one transaction under a uniqueness
  constraint while Neo4j can: an explicit branch in that test (docs/storage-graph.md).
Only the two-process test is SQLite's own: the embedded graph must prove it by sharing one file.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path as FilePath

import pytest
import sqlalchemy as sa

from shared.database.graph import Edge, GraphInputError, GraphStore, Node, Path, open_graph
from shared.database.graph_neo4j import parse_neo4j_url
from shared.database.graph_relational import graph_edges, graph_nodes
from shared.database.relational import open_relational
from shared.database.schema import upgrade_async
from tests.contract.bolt_server import bolt_server, neo4j_url  # noqa: F401  (fixtures)
from tests.contract.processes import python_process

ORG = "org-a"
OTHER = "org-b"
HOSTILE = [
    "x'}) DETACH DELETE n //",
    "'; DROP TABLE graph_nodes; --",
    "`) MATCH (m) DETACH DELETE m //",
    '" OR "1"="1',
    "$id {id: $org_id} \\' \\u0027",
]

BACKENDS = [
    "relational-sqlite",
    pytest.param("relational-postgresql", marks=pytest.mark.server),
    pytest.param("neo4j", marks=pytest.mark.server),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which store and server this run is; "neo4j" is Neo4jGraph on ArcadeDB's Bolt server."""
    return str(request.param)


@pytest.fixture
def graph_url(backend: str, request: pytest.FixtureRequest, tmp_path: FilePath) -> str:
    """Resolved before the test's event loop runs: the server fixtures call asyncio.run themselves."""
    if backend == "relational-sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/looma.db"
    if backend == "relational-postgresql":
        return request.getfixturevalue("postgres_url")
    return request.getfixturevalue("neo4j_url")


@pytest.fixture
async def graph(graph_url: str) -> AsyncIterator[GraphStore]:
    if graph_url.startswith("bolt://"):
        store = open_graph(graph_url, None)
        yield store
        await store.close()
        return
    await upgrade_async(graph_url)
    relational = open_relational(graph_url)
    store = open_graph(None, relational)
    yield store
    await store.close()
    await relational.close()


def talent(node_id: str, org_id: str = ORG, version: int = 1, **properties: object) -> Node:
    return Node(node_id, "Talent", org_id, properties, version)


def ids(nodes: list[Node]) -> list[str]:
    return [node.id for node in nodes]


def route(path: Path | None) -> tuple[list[str], list[tuple[str, str, str]]] | None:
    if path is None:
        return None
    return [node.id for node in path.nodes], [(edge.source, edge.type, edge.target) for edge in path.edges]


async def assert_refused(call: Awaitable[object], case: object) -> None:
    """The call raises GraphInputError; `case` names the input in the failure otherwise."""
    try:
        await call
    except GraphInputError:
        return
    pytest.fail(f"{case!r} was not refused with GraphInputError")


def knows(source: str, target: str, org_id: str = ORG, **properties: object) -> Edge:
    return Edge(source, "KNOWS", target, org_id, properties)


async def build_network(graph: GraphStore) -> None:
    """A small recruiting network in ORG, and a separate one in OTHER.

        t4 -KNOWS-> t2 -WORKED_AT-> c1 <-WORKED_AT- t1 -KNOWS-> t3 -WORKED_AT-> c2
                                     ^
                                j1 -AT
    """
    await graph.upsert_nodes([
        talent("t1", name="张伟", city="深圳", years=5),
        talent("t2", name="李娜", city="北京", years=5.0),
        talent("t3", name="王芳", city="深圳", remote=True),
        talent("t4", name="陈静", years=1),
        Node("c1", "Company", ORG, {"name": "字节跳动", "city": "北京"}, 1),
        Node("c2", "Company", ORG, {"name": "腾讯", "city": "深圳"}, 1),
        Node("j1", "Job", ORG, {"title": "后端工程师", "city": "北京"}, 1),
        talent("b1", OTHER, name="Other org talent", city="深圳"),
        Node("b2", "Company", OTHER, {"name": "Other org company"}, 1),
    ])
    await graph.upsert_edges([
        Edge("t1", "WORKED_AT", "c1", ORG, {"from": 2018}),
        Edge("t2", "WORKED_AT", "c1", ORG),
        Edge("t3", "WORKED_AT", "c2", ORG),
        knows("t1", "t3"),
        knows("t4", "t2"),
        Edge("j1", "AT", "c1", ORG),
        Edge("b1", "WORKED_AT", "b2", OTHER),
    ])


async def build_routes(graph: GraphStore) -> None:
    """Three equally short routes from a to d, then one on to f; g stands alone.

        a -KNOWS-> b -KNOWS-> d -KNOWS-> e -KNOWS-> f        g
        a -KNOWS-> c <-REFERRED- d
                   b -REFERRED-> d
    """
    await graph.upsert_nodes([talent(node_id, name=f"候选人 {node_id}") for node_id in "abcdefg"])
    await graph.upsert_edges([
        knows("a", "b"), knows("b", "d"), knows("a", "c"), Edge("d", "REFERRED", "c", ORG),
        Edge("b", "REFERRED", "d", ORG), knows("d", "e", since=2019, note="同事"), knows("e", "f"),
    ])


# --- Opening ------------------------------------------------------------------------------------


async def test_open_graph_gives_a_graph_store_that_answers_ping(graph: GraphStore, graph_url: str) -> None:
    assert isinstance(graph, GraphStore)
    assert graph.backend == ("neo4j" if graph_url.startswith("bolt://") else "relational")
    await graph.ping()


def test_neo4j_url_gives_driver_uri_credentials_and_database() -> None:
    assert parse_neo4j_url("bolt://neo4j:p%40ss%3Aword@graph.internal:7688/looma") == (
        "bolt://graph.internal:7688", ("neo4j", "p@ss:word"), "looma")
    assert parse_neo4j_url("neo4j+s://graph.internal") == ("neo4j+s://graph.internal:7687", None, None)
    with pytest.raises(ValueError, match="http"):
        parse_neo4j_url("http://graph.internal:7474")


# --- Writing nodes and edges --------------------------------------------------------------------


async def test_upserting_a_node_twice_keeps_one_node_with_the_latest_label_properties_and_version(
        graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("t1", name="张伟", city="深圳")])
    await graph.upsert_nodes([talent("t1", name="张伟", city="深圳")])
    assert await graph.versions(ORG, "Talent") == {"t1": 1}

    await graph.upsert_nodes([talent("t1", version=2, name="张伟", city="北京", years=7)])
    assert await graph.get_node(ORG, "t1") == talent("t1", version=2, name="张伟", city="北京", years=7)
    assert await graph.versions(ORG, "Talent") == {"t1": 2}

    # Properties are replaced, not merged: a property left out is gone, for filters too.
    await graph.upsert_nodes([talent("t1", version=3, name="张伟")])
    await graph.upsert_nodes([talent("t0")])
    await graph.upsert_edges([knows("t0", "t1")])
    assert await graph.get_node(ORG, "t1") == talent("t1", version=3, name="张伟")
    assert await graph.neighbours(ORG, "t0", where={"city": "北京"}) == []


async def test_a_new_label_replaces_the_old_one_and_the_node_keeps_its_edges(graph: GraphStore, backend: str) -> None:
    await graph.upsert_nodes([talent("t0"), talent("t1", name="张伟")])
    await graph.upsert_edges([knows("t0", "t1")])
    relabelled = [Node("t1", "Candidate", ORG, {"name": "张伟"}, 2), talent("t2")]

    if backend == "neo4j":
        # ArcadeDB, unlike Neo4j, cannot change a node's label twice (remove one, add one) in one
        # transaction while a uniqueness constraint covers the node: the write fails. The Cypher is
        # Neo4j's; what this server can show is that the failure leaves nothing of the batch behind.
        with pytest.raises(Exception, match="ConstraintValidationFailed"):
            await graph.upsert_nodes(relabelled)
        assert await graph.versions(ORG, "Talent") == {"t0": 1, "t1": 1}
        assert await graph.versions(ORG, "Candidate") == {}
        assert ids(await graph.neighbours(ORG, "t0", labels=["Talent"])) == ["t1"]
        return
    await graph.upsert_nodes(relabelled)

    assert await graph.get_node(ORG, "t1") == Node("t1", "Candidate", ORG, {"name": "张伟"}, 2)
    assert await graph.versions(ORG, "Talent") == {"t0": 1, "t2": 1}
    assert await graph.versions(ORG, "Candidate") == {"t1": 2}
    assert ids(await graph.neighbours(ORG, "t0", labels=["Candidate"])) == ["t1"]
    assert await graph.neighbours(ORG, "t0", labels=["Talent"]) == []


async def test_a_batch_that_repeats_an_id_keeps_its_last_occurrence(graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("t1", version=1, name="first"), talent("t1", version=2, name="last")])

    assert await graph.get_node(ORG, "t1") == talent("t1", version=2, name="last")


async def test_upserting_an_edge_twice_keeps_one_edge_with_the_latest_properties(graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("a"), talent("b")])
    await graph.upsert_edges([knows("a", "b", since=2018, via="内推")])
    await graph.upsert_edges([knows("a", "b", since=2020)])

    paths = await graph.all_shortest_paths(ORG, "a", "b")
    assert [path.edges for path in paths] == [(knows("a", "b", since=2020),)]
    assert ids(await graph.neighbours(ORG, "a")) == ["b"]


async def test_chinese_and_nested_json_values_round_trip(graph: GraphStore) -> None:
    properties = {
        "name": "张伟",
        "summary": "资深后端工程师，擅长分布式系统 🚀👩🏽‍💻",
        "skills": ["Python", "分布式系统", "后端"],
        "profile": {"城市": "深圳", "年限": 7, "远程": True, "备注": None, "经历": [{"公司": "腾讯", "年": 3}]},
        "score": 0.1 + 0.2,
        "rate": 5.0,
        "big": 2**62,
        "negative": -3,
        "nothing": None,
        "empty": {},
        "mixed": [1, "二", 3.5, None, {"k": []}],
    }
    node = Node("候选人-001", "Talent", "组织-甲", properties, 7)
    await graph.upsert_nodes([node, Node("公司-001", "Company", "组织-甲", {"name": "字节跳动"}, 1)])
    edge_properties = {"role": "架构师", "years": [2019, 2024], "detail": {"细节": None}}
    await graph.upsert_edges([Edge("候选人-001", "WORKED_AT", "公司-001", "组织-甲", edge_properties)])

    stored = await graph.get_node("组织-甲", "候选人-001")
    assert stored == node
    assert stored is not None
    assert isinstance(stored.properties["rate"], float) and isinstance(stored.properties["big"], int)
    assert json.dumps(stored.properties, sort_keys=True) == json.dumps(properties, sort_keys=True)
    assert ids(await graph.neighbours("组织-甲", "公司-001", where={"name": "张伟"})) == ["候选人-001"]
    assert await graph.neighbours("组织-甲", "公司-001", where={"name": "张伟", "city": "深圳"}) == []
    assert ids(await graph.neighbours("组织-甲", "公司-001", where={"summary": properties["summary"]})) == ["候选人-001"]
    path = await graph.shortest_path("组织-甲", "候选人-001", "公司-001")
    assert path is not None
    assert path.edges[0].properties == edge_properties


async def test_hostile_strings_are_stored_verbatim_and_harmless(graph: GraphStore) -> None:
    hostile_org = "o'; DROP TABLE graph_edges; --"
    await graph.upsert_nodes([talent("sentinel"), talent("sentinel-2")])
    await graph.upsert_edges([knows("sentinel", "sentinel-2")])
    nodes = [Node(text, "Talent", hostile_org, {"name": text, "nested": {"value": text, text: [text]}}, 1)
             for text in HOSTILE]
    await graph.upsert_nodes(nodes)
    await graph.upsert_edges([Edge(HOSTILE[i], "KNOWS", HOSTILE[i + 1], hostile_org, {"note": HOSTILE[i]})
                              for i in range(len(HOSTILE) - 1)])

    for node in nodes:
        assert await graph.get_node(hostile_org, node.id) == node
    assert await graph.versions(hostile_org, "Talent") == {text: 1 for text in HOSTILE}
    assert ids(await graph.neighbours(hostile_org, HOSTILE[0], where={"name": HOSTILE[1]})) == [HOSTILE[1]]
    assert ids(await graph.neighbours(hostile_org, HOSTILE[0], depth=6)) == HOSTILE[1:]
    assert route(await graph.shortest_path(hostile_org, HOSTILE[0], HOSTILE[2])) == (
        HOSTILE[:3], [(HOSTILE[0], "KNOWS", HOSTILE[1]), (HOSTILE[1], "KNOWS", HOSTILE[2])])
    # Nothing else was touched, and a hostile where value matches nothing it should not.
    assert await graph.versions(ORG, "Talent") == {"sentinel": 1, "sentinel-2": 1}
    assert ids(await graph.neighbours(ORG, "sentinel")) == ["sentinel-2"]
    assert await graph.neighbours(ORG, "sentinel", where={"name": "' OR '1'='1"}) == []
    assert await graph.edges_from(hostile_org, HOSTILE[0]) == [
        Edge(HOSTILE[0], "KNOWS", HOSTILE[1], hostile_org, {"note": HOSTILE[0]})]
    assert await graph.edges_from(ORG, HOSTILE[0]) == []
    assert await graph.delete_nodes(hostile_org, [HOSTILE[0]]) == 1
    assert await graph.versions(hostile_org, "Talent") == {text: 1 for text in HOSTILE[1:]}
    assert await graph.versions(ORG, "Talent") == {"sentinel": 1, "sentinel-2": 1}


BAD_LABELS = ["talent", "Talent) DETACH DELETE n //", "Ta lent", "", "T" * 65, "Talent`", "Talent:Job"]
BAD_PROPERTY_NAMES = ["Name", "first-name", "x}) DETACH DELETE n //", "名字", "1st", ""]
BAD_EDGE_TYPES = ["works_at", "WORKS-AT", "KNOWS]->() DETACH DELETE n //", "KNOWS|LIKES", ""]
BAD_VALUES = [math.nan, math.inf, 2**63, -(2**63) - 1, {1, 2}, b"bytes", [object()], {"nested": {1: "int key"}}]


async def test_invalid_labels_are_refused_and_nothing_of_the_batch_is_written(graph: GraphStore) -> None:
    for label in BAD_LABELS:
        await assert_refused(graph.upsert_nodes([talent("ok"), Node("bad", label, ORG, {}, 1)]), label)
        await assert_refused(graph.versions(ORG, label), label)
        await assert_refused(graph.neighbours(ORG, "ok", labels=[label]), label)

    assert await graph.get_node(ORG, "ok") is None


async def test_invalid_property_names_are_refused_everywhere(graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("a"), talent("b")])

    for name in BAD_PROPERTY_NAMES:
        await assert_refused(graph.upsert_nodes([talent("c"), Node("d", "Talent", ORG, {name: 1}, 1)]), name)
        await assert_refused(graph.upsert_edges([Edge("a", "KNOWS", "b", ORG, {name: 1})]), name)
        await assert_refused(graph.neighbours(ORG, "a", where={name: 1}), name)

    assert await graph.get_node(ORG, "c") is None
    assert await graph.neighbours(ORG, "a") == []


async def test_invalid_edge_types_are_refused_everywhere(graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("a"), talent("b")])

    for edge_type in BAD_EDGE_TYPES:
        await assert_refused(graph.upsert_edges([knows("a", "b"), Edge("a", edge_type, "b", ORG)]), edge_type)
        await assert_refused(graph.neighbours(ORG, "a", edge_types=[edge_type]), edge_type)
        await assert_refused(graph.shortest_path(ORG, "a", "b", edge_types=[edge_type]), edge_type)
        await assert_refused(graph.all_shortest_paths(ORG, "a", "b", edge_types=[edge_type]), edge_type)
        await assert_refused(graph.delete_edges(ORG, [("a", edge_type, "b")]), edge_type)

    assert await graph.neighbours(ORG, "a") == []


async def test_values_json_or_the_stores_cannot_hold_are_refused(graph: GraphStore) -> None:
    for value in BAD_VALUES:
        await assert_refused(graph.upsert_nodes([talent("a"), Node("b", "Talent", ORG, {"value": value}, 1)]), value)
        await assert_refused(graph.upsert_nodes([talent("a"), talent("b", nested=[{"value": value}])]), value)

    assert await graph.get_node(ORG, "a") is None
    assert await graph.get_node(ORG, "b") is None


async def test_invalid_ids_where_values_and_limits_are_refused(graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("a")])

    for bad_node in (talent(""), talent("x" * 129), talent("nul\x00id"), talent("a", org_id=""),
                     talent("a", org_id="o" * 65), talent("a", version=True), talent("a", version=2**63)):
        await assert_refused(graph.upsert_nodes([bad_node]), bad_node)
    for where in ({"name": None}, {"name": ["张伟"]}, {"name": {"a": 1}}, {"score": math.nan}):
        await assert_refused(graph.neighbours(ORG, "a", where=where), where)
    for limit in (0, -1, 10_001):
        await assert_refused(graph.neighbours(ORG, "a", limit=limit), limit)
    assert await graph.get_node(ORG, "a") == talent("a")


async def test_an_edge_to_a_missing_node_is_refused_and_nothing_of_the_batch_stays(graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("a"), talent("b"), talent("b1", OTHER)])

    for missing in (knows("a", "ghost"), knows("ghost", "a"), knows("a", "b1"), knows("b1", "a", OTHER)):
        with pytest.raises(GraphInputError):
            await graph.upsert_edges([knows("a", "b"), missing, Edge("b", "LIKES", "a", ORG)])

    assert await graph.neighbours(ORG, "a") == []
    assert await graph.neighbours(OTHER, "b1") == []


async def test_a_node_id_of_another_org_is_refused_and_that_node_is_untouched(graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("b1", OTHER, name="theirs")])

    with pytest.raises(GraphInputError):
        await graph.upsert_nodes([talent("a1", name="mine"), talent("b1", version=9, name="mine")])

    assert await graph.get_node(ORG, "a1") is None
    assert await graph.get_node(ORG, "b1") is None
    assert await graph.get_node(OTHER, "b1") == talent("b1", OTHER, name="theirs")


# --- Outgoing edges -----------------------------------------------------------------------------


async def test_edges_from_gives_a_nodes_outgoing_edges_only_with_their_properties(graph: GraphStore) -> None:
    await build_network(graph)

    assert await graph.edges_from(ORG, "t1") == [knows("t1", "t3"), Edge("t1", "WORKED_AT", "c1", ORG, {"from": 2018})]
    assert await graph.edges_from(ORG, "t2") == [Edge("t2", "WORKED_AT", "c1", ORG)]  # not t4's KNOWS into t2
    assert await graph.edges_from(ORG, "c1") == []  # three edges point at c1, none leaves it
    assert await graph.edges_from(ORG, "j1") == [Edge("j1", "AT", "c1", ORG)]


async def test_edges_from_an_unknown_node_or_another_orgs_node_is_empty(graph: GraphStore) -> None:
    await build_network(graph)

    assert await graph.edges_from(ORG, "ghost") == []
    assert await graph.edges_from(ORG, "b1") == []
    assert await graph.edges_from(OTHER, "t1") == []
    assert await graph.edges_from("org-none", "t1") == []
    assert await graph.edges_from(OTHER, "b1") == [Edge("b1", "WORKED_AT", "b2", OTHER)]


async def test_edges_from_is_ordered_by_type_then_target_in_code_point_order(graph: GraphStore) -> None:
    targets = ["b", "B", "a", "a-2", "张", "Z", "_x"]
    await graph.upsert_nodes([talent("hub"), *(talent(target) for target in targets)])
    await graph.upsert_edges([Edge("hub", edge_type, target, ORG, {"n": i})
                              for i, (edge_type, target) in enumerate(
                                  (edge_type, target) for edge_type in ("REFERRED", "KNOWS", "AT", "Knows")
                                  for target in targets)])

    edges = await graph.edges_from(ORG, "hub")
    keys = [(edge.type, edge.target) for edge in edges]
    assert keys == sorted(keys)
    assert [edge_type for edge_type, _ in keys[::len(targets)]] == ["AT", "KNOWS", "Knows", "REFERRED"]
    assert [target for _, target in keys[:len(targets)]] == ["B", "Z", "_x", "a", "a-2", "b", "张"]
    assert all(edge.source == "hub" and edge.org_id == ORG for edge in edges)
    assert edges[0] == Edge("hub", "AT", "B", ORG, {"n": 15})


async def test_edges_from_follows_upserts_and_deletes(graph: GraphStore) -> None:
    await build_routes(graph)
    assert [(edge.type, edge.target) for edge in await graph.edges_from(ORG, "b")] == [
        ("KNOWS", "d"), ("REFERRED", "d")]

    await graph.upsert_edges([knows("b", "d", since=2024), knows("b", "c")])
    assert await graph.delete_edges(ORG, [("b", "REFERRED", "d")]) == 1
    assert await graph.edges_from(ORG, "b") == [knows("b", "c"), knows("b", "d", since=2024)]
    assert await graph.delete_nodes(ORG, ["c"]) == 1
    assert await graph.edges_from(ORG, "b") == [knows("b", "d", since=2024)]
    assert await graph.edges_from(ORG, "a") == [knows("a", "b")]  # a -KNOWS-> c went with c


async def test_edges_from_refuses_invalid_ids(graph: GraphStore) -> None:
    await build_routes(graph)

    for org_id, source in (("", "a"), ("o" * 65, "a"), ("nul\x00org", "a"), (ORG, ""), (ORG, "x" * 129),
                           (ORG, "nul\x00id"), (ORG, None), (None, "a")):
        await assert_refused(graph.edges_from(org_id, source), (org_id, source))  # type: ignore[arg-type]


# --- Neighbours ---------------------------------------------------------------------------------


async def test_neighbours_at_depth_one_and_two_in_either_direction_ordered_by_distance_then_id(
        graph: GraphStore) -> None:
    await build_network(graph)

    assert ids(await graph.neighbours(ORG, "t1")) == ["c1", "t3"]
    assert ids(await graph.neighbours(ORG, "c1")) == ["j1", "t1", "t2"]  # all three point at c1
    assert ids(await graph.neighbours(ORG, "t1", depth=2)) == ["c1", "t3", "c2", "j1", "t2"]
    assert ids(await graph.neighbours(ORG, "t4", depth=3)) == ["t2", "c1", "j1", "t1"]
    assert ids(await graph.neighbours(ORG, "t4", depth=6)) == ["t2", "c1", "j1", "t1", "t3", "c2"]
    nodes = await graph.neighbours(ORG, "t1", depth=2, limit=3)
    assert ids(nodes) == ["c1", "t3", "c2"]
    assert nodes[0] == Node("c1", "Company", ORG, {"name": "字节跳动", "city": "北京"}, 1)


async def test_neighbours_filtered_by_edge_types_labels_and_where(graph: GraphStore) -> None:
    await build_network(graph)

    assert ids(await graph.neighbours(ORG, "t1", depth=2, edge_types=["WORKED_AT"])) == ["c1", "t2"]
    assert ids(await graph.neighbours(ORG, "t1", depth=2, edge_types=["WORKED_AT", "KNOWS"])) == [
        "c1", "t3", "c2", "t2"]
    # Hops go through nodes the filters leave out.
    assert ids(await graph.neighbours(ORG, "t1", depth=2, labels=["Talent"])) == ["t3", "t2"]
    assert ids(await graph.neighbours(ORG, "t1", depth=2, labels=["Job", "Company"])) == ["c1", "c2", "j1"]
    assert ids(await graph.neighbours(ORG, "t1", depth=2, where={"city": "深圳"})) == ["t3", "c2"]
    assert ids(await graph.neighbours(ORG, "t1", depth=2, where={"city": "北京"}, labels=["Talent"])) == ["t2"]
    assert ids(await graph.neighbours(ORG, "t1", depth=2, where={"city": "深圳", "name": "腾讯"})) == ["c2"]
    assert await graph.neighbours(ORG, "t1", depth=2, where={"city": "上海"}) == []
    assert await graph.neighbours(ORG, "t1", edge_types=[]) == []
    assert await graph.neighbours(ORG, "t1", labels=[]) == []


async def test_where_compares_as_json_numbers_by_value_booleans_apart(graph: GraphStore) -> None:
    await build_network(graph)

    assert ids(await graph.neighbours(ORG, "c1", where={"years": 5})) == ["t1", "t2"]  # 5 and 5.0
    assert ids(await graph.neighbours(ORG, "c1", where={"years": 5.0})) == ["t1", "t2"]
    assert ids(await graph.neighbours(ORG, "t1", where={"remote": True})) == ["t3"]
    assert await graph.neighbours(ORG, "t1", where={"remote": 1}) == []
    assert await graph.neighbours(ORG, "t1", where={"remote": "true"}) == []
    assert await graph.neighbours(ORG, "t4", where={"years": True}) == []


async def test_neighbours_of_a_missing_node_are_none(graph: GraphStore) -> None:
    await build_network(graph)

    assert await graph.neighbours(ORG, "ghost", depth=3) == []


async def test_a_large_batch_and_a_wide_frontier(graph: GraphStore) -> None:
    leaves = [f"leaf-{i:04d}" for i in range(1100)]
    hub = Node("hub", "Company", ORG, {}, 1)
    await graph.upsert_nodes([hub, *(talent(leaf, n=i) for i, leaf in enumerate(leaves))])
    await graph.upsert_edges([Edge(leaf, "WORKED_AT", "hub", ORG) if i % 2 else Edge("hub", "EMPLOYS", leaf, ORG)
                              for i, leaf in enumerate(leaves)])

    assert ids(await graph.neighbours(ORG, "hub", limit=10_000)) == leaves
    assert ids(await graph.neighbours(ORG, leaves[0], depth=2, limit=10_000)) == ["hub"] + leaves[1:]
    assert ids(await graph.neighbours(ORG, leaves[0], depth=2, where={"n": 1099})) == [leaves[-1]]
    assert ids(await graph.neighbours(ORG, "hub", edge_types=["EMPLOYS"], limit=3)) == leaves[0:6:2]
    assert await graph.delete_nodes(ORG, leaves) == 1100
    assert await graph.neighbours(ORG, "hub") == []


# --- Org scoping --------------------------------------------------------------------------------


async def test_another_orgs_nodes_are_invisible_everywhere(graph: GraphStore) -> None:
    await build_network(graph)

    assert await graph.get_node(ORG, "b1") is None
    assert await graph.get_node(OTHER, "t1") is None
    assert await graph.neighbours(ORG, "b1") == []
    assert await graph.neighbours(OTHER, "t1", depth=3) == []
    assert await graph.shortest_path(ORG, "b1", "b2") is None
    assert await graph.all_shortest_paths(ORG, "b1", "b2") == []
    assert await graph.shortest_path(OTHER, "t1", "c1") is None
    assert await graph.shortest_path(ORG, "b1", "b1") is None
    assert await graph.delete_nodes(ORG, ["b1"]) == 0
    assert await graph.delete_edges(ORG, [("b1", "WORKED_AT", "b2")]) == 0
    assert await graph.delete_nodes(OTHER, ["t1"]) == 0
    assert await graph.versions(ORG, "Talent") == {"t1": 1, "t2": 1, "t3": 1, "t4": 1}

    # Still all there for their own org.
    assert await graph.get_node(OTHER, "b1") == talent("b1", OTHER, name="Other org talent", city="深圳")
    assert ids(await graph.neighbours(OTHER, "b1")) == ["b2"]
    assert ids(await graph.neighbours(ORG, "t1")) == ["c1", "t3"]
    assert await graph.versions(OTHER, "Talent") == {"b1": 1}
    assert await graph.versions(None, "Talent") == {"t1": 1, "t2": 1, "t3": 1, "t4": 1, "b1": 1}
    assert await graph.versions(None, "Company") == {"c1": 1, "c2": 1, "b2": 1}


# --- Paths --------------------------------------------------------------------------------------


async def test_shortest_path_gives_nodes_and_edges_as_stored(graph: GraphStore) -> None:
    await build_routes(graph)

    path = await graph.shortest_path(ORG, "f", "d")
    assert path == Path(
        nodes=(talent("f", name="候选人 f"), talent("e", name="候选人 e"), talent("d", name="候选人 d")),
        edges=(knows("e", "f"), knows("d", "e", since=2019, note="同事")),
    )
    assert route(await graph.shortest_path(ORG, "a", "d", edge_types=["KNOWS"])) == (
        ["a", "b", "d"], [("a", "KNOWS", "b"), ("b", "KNOWS", "d")])
    assert route(await graph.shortest_path(ORG, "c", "b", edge_types=["REFERRED"])) == (
        ["c", "d", "b"], [("d", "REFERRED", "c"), ("b", "REFERRED", "d")])


async def test_all_shortest_paths_returns_every_tie_in_order(graph: GraphStore) -> None:
    await build_routes(graph)

    paths = await graph.all_shortest_paths(ORG, "a", "d")
    assert [route(path) for path in paths] == [
        (["a", "b", "d"], [("a", "KNOWS", "b"), ("b", "KNOWS", "d")]),
        (["a", "b", "d"], [("a", "KNOWS", "b"), ("b", "REFERRED", "d")]),
        (["a", "c", "d"], [("a", "KNOWS", "c"), ("d", "REFERRED", "c")]),
    ]
    assert paths[2].nodes[1] == talent("c", name="候选人 c")
    assert await graph.shortest_path(ORG, "a", "d") in paths
    to_f = await graph.all_shortest_paths(ORG, "a", "f")
    assert [route(path)[0] for path in to_f] == [list("abdef"), list("abdef"), list("acdef")]  # type: ignore[index]
    assert await graph.shortest_path(ORG, "a", "f") in to_f
    assert [route(path) for path in await graph.all_shortest_paths(ORG, "a", "d", edge_types=["KNOWS"])] == [
        (["a", "b", "d"], [("a", "KNOWS", "b"), ("b", "KNOWS", "d")])]


async def test_no_path_gives_none_and_no_paths(graph: GraphStore) -> None:
    await build_routes(graph)

    assert await graph.shortest_path(ORG, "a", "g") is None
    assert await graph.all_shortest_paths(ORG, "a", "g") == []
    assert await graph.shortest_path(ORG, "a", "ghost") is None
    assert await graph.all_shortest_paths(ORG, "ghost", "a") == []
    assert await graph.shortest_path(ORG, "a", "f", max_depth=3) is None  # a-b-d-e-f is 4 hops
    assert await graph.all_shortest_paths(ORG, "a", "f", max_depth=3) == []
    assert len((await graph.shortest_path(ORG, "a", "f", max_depth=4)).edges) == 4  # type: ignore[union-attr]
    assert await graph.shortest_path(ORG, "e", "a", edge_types=["REFERRED"]) is None
    assert await graph.all_shortest_paths(ORG, "a", "d", edge_types=[]) == []


async def test_a_path_from_a_node_to_itself_is_the_node_alone(graph: GraphStore) -> None:
    await build_routes(graph)

    alone = Path(nodes=(talent("a", name="候选人 a"),), edges=())
    assert await graph.shortest_path(ORG, "a", "a") == alone
    assert await graph.all_shortest_paths(ORG, "a", "a") == [alone]
    assert await graph.shortest_path(ORG, "ghost", "ghost") is None


async def test_depth_outside_one_to_six_is_refused(graph: GraphStore) -> None:
    await build_routes(graph)

    for depth in (0, 7, -1):
        await assert_refused(graph.neighbours(ORG, "a", depth=depth), depth)
        await assert_refused(graph.shortest_path(ORG, "a", "f", max_depth=depth), depth)
        await assert_refused(graph.all_shortest_paths(ORG, "a", "f", max_depth=depth), depth)
    assert len(await graph.neighbours(ORG, "a", depth=6)) == 5


# --- Deleting -----------------------------------------------------------------------------------


async def test_delete_nodes_removes_every_edge_touching_them(graph: GraphStore) -> None:
    await build_routes(graph)

    assert await graph.delete_nodes(ORG, ["d", "d", "ghost"]) == 1

    assert await graph.get_node(ORG, "d") is None
    assert ids(await graph.neighbours(ORG, "e")) == ["f"]
    assert ids(await graph.neighbours(ORG, "b")) == ["a"]
    assert await graph.shortest_path(ORG, "a", "f") is None
    await graph.upsert_nodes([talent("d")])  # the same id again starts with no edges
    assert await graph.neighbours(ORG, "d") == []
    assert await graph.delete_nodes(ORG, []) == 0


async def test_delete_edges_by_source_type_and_target(graph: GraphStore) -> None:
    await build_routes(graph)

    assert await graph.delete_edges(ORG, [("b", "KNOWS", "a")]) == 0  # direction counts
    assert await graph.delete_edges(ORG, [("a", "KNOWS", "b"), ("b", "REFERRED", "d"), ("a", "KNOWS", "b"),
                                          ("a", "LIKES", "c")]) == 2
    assert await graph.delete_edges(ORG, [("a", "KNOWS", "b")]) == 0

    assert ids(await graph.neighbours(ORG, "b")) == ["d"]
    assert [route(path) for path in await graph.all_shortest_paths(ORG, "a", "d")] == [
        (["a", "c", "d"], [("a", "KNOWS", "c"), ("d", "REFERRED", "c")])]
    assert await graph.get_node(ORG, "b") == talent("b", name="候选人 b")
    assert await graph.delete_edges(ORG, []) == 0


async def test_versions_by_label_in_one_org_or_all(graph: GraphStore) -> None:
    await graph.upsert_nodes([talent("t1", version=3), talent("t2", version=1), talent("b1", OTHER, version=2),
                              Node("c1", "Company", ORG, {}, 5)])

    assert await graph.versions(ORG, "Talent") == {"t1": 3, "t2": 1}
    assert await graph.versions(None, "Talent") == {"t1": 3, "t2": 1, "b1": 2}
    assert await graph.versions(ORG, "Company") == {"c1": 5}
    assert await graph.versions(ORG, "Job") == {}


# --- Two processes on one SQLite file ---------------------------------------------------------------

WRITE_IN_A_CHILD = """
    import asyncio, sys
    from shared.database.graph import Edge, Node
    from shared.database.graph_relational import RelationalGraph
    from shared.database.relational import open_relational

    async def main(url: str, first: int, last: int, rounds: int, writer: str) -> None:
        relational = open_relational(url)
        graph = RelationalGraph(relational)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        for version in range(1, rounds + 1):
            for start in range(first, last + 1, 5):
                batch = range(start, min(start + 5, last + 1))
                await graph.upsert_nodes([Node(f"n{i:03d}", "Talent", "org-a", {"writer": writer, "i": i}, version)
                                          for i in batch])
                await graph.upsert_edges([Edge(f"n{i - 1:03d}", "KNOWS", f"n{i:03d}", "org-a", {"writer": writer})
                                          for i in batch if i > first])
        await relational.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
"""


async def test_two_processes_write_overlapping_nodes_and_edges_to_one_sqlite_file(tmp_path: FilePath) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/looma.db"
    await upgrade_async(url)
    rounds = 3
    async with (
        python_process(WRITE_IN_A_CHILD, url, "0", "59", str(rounds), "first") as first,
        python_process(WRITE_IN_A_CHILD, url, "30", "89", str(rounds), "second") as second,
    ):
        assert [await first.read_line(), await second.read_line()] == ["ready", "ready"]
        await asyncio.gather(first.send_line("go"), second.send_line("go"))
        (_, first_errors), (_, second_errors) = await asyncio.gather(first.finish(), second.finish())
    assert "database is locked" not in first_errors + second_errors

    relational = open_relational(url)
    graph = open_graph(None, relational)
    try:
        assert await graph.versions(ORG, "Talent") == {f"n{i:03d}": rounds for i in range(90)}
        async with relational.read() as conn:
            edges = (await conn.execute(sa.select(graph_edges.c.source, graph_edges.c.target))).all()
            dangling = (await conn.execute(sa.select(sa.func.count()).select_from(graph_edges).where(
                ~graph_edges.c.target.in_(sa.select(graph_nodes.c.id))
                | ~graph_edges.c.source.in_(sa.select(graph_nodes.c.id))))).scalar_one()
        assert sorted(edges) == [(f"n{i - 1:03d}", f"n{i:03d}") for i in range(1, 90)]
        assert dangling == 0
        assert ids(await graph.neighbours(ORG, "n045", depth=2)) == ["n044", "n046", "n043", "n047"]
        for node_id, writers in (("n010", {"first"}), ("n045", {"first", "second"}), ("n080", {"second"})):
            node = await graph.get_node(ORG, node_id)
            assert node is not None and node.properties["writer"] in writers
        assert route(await graph.shortest_path(ORG, "n027", "n033")) == (
            [f"n{i:03d}" for i in range(27, 34)], [(f"n{i - 1:03d}", "KNOWS", f"n{i:03d}") for i in range(28, 34)])
    finally:
        await graph.close()
        await relational.close()

"""The graph on Neo4j 5, through the official async driver (`LOOMA_NEO4J_URL`).

URL: `bolt://user:password@host:7687/database` (also `neo4j://` and the `+s` / `+ssc` TLS
schemes); the path names the database, and without one the server's default is used.

How the graph is stored:
- A node is `(:LoomaNode:<Label> {id, org_id, label, version, props_json, p_<name>...})`.
  `LoomaNode` is common to every node and carries the uniqueness constraint on `id` (node ids are
  global, as in the relational store) and an index on `(org_id, label)`; the node's own label
  makes it a normal citizen for anyone browsing the graph.
- A relationship is `[:<TYPE> {org_id, props_json, p_<name>...}]`, MERGEd on (start, type, end).
- `props_json` holds the whole properties map as JSON, and is what is read back. Neo4j can
  store only scalars and lists of one scalar type as property values: maps, lists of maps, mixed
  lists and nulls cannot be stored, and storing them natively would also lose the int/float
  distinction of nested values. So JSON is the one faithful copy.
- `p_<name>` repeats each top-level property whose value is a string, number or boolean as a
  native property, so that `where` filters (which accept exactly those values) run in Cypher
  and can be indexed. The prefix keeps user properties from colliding with `id`, `org_id`,
  `label`, `version` and `props_json`. Both copies are written by the same `SET n = map`, so they
  never disagree.

Safety: labels, edge types and property names are checked (`check_label`, `check_property`)
before they go into Cypher text; depths are checked integers; every value is a parameter.
Every MATCH names the org. Every write is one `session.execute_write` transaction: the driver
retries it on transient errors and any error rolls all of it back, where an auto-commit
`session.run` of an UNWIND batch can leave part of the batch committed.

Traversals use Cypher's own operators: neighbours a variable-length `*1..N` match with the
minimum path length as the distance, which enumerates paths and so grows quickly with depth on
dense graphs; paths `shortestPath` / `allShortestPaths`, which search breadth-first.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from neo4j import AsyncGraphDatabase, AsyncManagedTransaction

from shared.database.graph import Edge, GraphInputError, Node, Path, check_depth, check_label
from shared.database.graph_relational import (
    check_id,
    check_org_id,
    checked_edge_keys,
    checked_edges,
    checked_ids,
    checked_names,
    checked_neighbour_filters,
    checked_nodes,
    edge_key,
    path_order,
)

SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
DEFAULT_PORT = 7687
SCHEMA = (
    "CREATE CONSTRAINT looma_node_id IF NOT EXISTS FOR (n:LoomaNode) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX looma_node_org_label IF NOT EXISTS FOR (n:LoomaNode) ON (n.org_id, n.label)",
)
NODE_FIELDS = "{{id: {v}.id, label: {v}.label, org_id: {v}.org_id, version: {v}.version, props_json: {v}.props_json}}"
NODE = NODE_FIELDS.format(v="n")
EDGE = "{source: startNode(r).id, type: type(r), target: endNode(r).id, props_json: r.props_json}"
PATH = f"[n IN nodes(p) | {NODE}] AS nodes, [r IN relationships(p) | {EDGE}] AS edges"


def parse_neo4j_url(url: str) -> tuple[str, tuple[str, str] | None, str | None]:
    """The driver URI (no credentials, no path), the auth pair and the database name."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"unsupported Neo4j URL scheme {parts.scheme!r}: use one of {', '.join(SCHEMES)}")
    if not parts.hostname:
        raise ValueError(f"Neo4j URL {parts.scheme}://... names no host")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    database = unquote(parts.path.strip("/")) or None
    return f"{parts.scheme}://{host}:{parts.port or DEFAULT_PORT}", auth, database


def stored_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The native property map for checked properties: `props_json` plus `p_<name>` per scalar."""
    stored: dict[str, Any] = {"props_json": json.dumps(properties, ensure_ascii=False)}
    for name, value in properties.items():
        if isinstance(value, (str, int, float)):  # bool is an int
            stored[f"p_{name}"] = value
    return stored


def _node(fields: Mapping[str, Any]) -> Node:
    return Node(fields["id"], fields["label"], fields["org_id"], json.loads(fields["props_json"] or "{}"),
                fields["version"])


def _edge(fields: Mapping[str, Any], org_id: str) -> Edge:
    return Edge(fields["source"], fields["type"], fields["target"], org_id, json.loads(fields["props_json"] or "{}"))


def _hops(types: Sequence[str] | None, low: int, high: int) -> str:
    """A relationship pattern's inside: checked types (or any) and checked integer bounds."""
    return f"{':' + '|'.join(types) if types else ''}*{int(low)}..{int(high)}"


async def _rows(tx: AsyncManagedTransaction, query: str, **parameters: Any) -> list[dict[str, Any]]:
    result = await tx.run(query, parameters)
    return await result.data()


class Neo4jGraph:
    """GraphStore over Neo4j 5 (or any server that speaks Bolt and Neo4j-5 Cypher)."""

    backend = "neo4j"

    def __init__(self, url: str) -> None:
        uri, auth, self.database = parse_neo4j_url(url)
        self._driver = AsyncGraphDatabase.driver(uri, auth=auth)
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()

    def _session(self) -> Any:
        return self._driver.session(database=self.database) if self.database else self._driver.session()

    async def _ensure_schema(self) -> None:
        """Create the constraint and index once per process; IF NOT EXISTS makes every process safe."""
        if self._schema_ready:
            return
        async with self._schema_lock:
            if self._schema_ready:
                return
            async with self._session() as session:
                for statement in SCHEMA:  # schema changes run on their own, outside data transactions
                    await (await session.run(statement)).consume()
            self._schema_ready = True

    async def _read(self, query: str, **parameters: Any) -> list[dict[str, Any]]:
        await self._ensure_schema()
        async with self._session() as session:
            return await session.execute_read(_rows, query, **parameters)

    async def _write(self, work: Any, *args: Any) -> Any:
        await self._ensure_schema()
        async with self._session() as session:
            return await session.execute_write(work, *args)

    async def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        checked = checked_nodes(nodes)
        if checked:
            await self._write(_upsert_nodes, checked)

    async def upsert_edges(self, edges: Sequence[Edge]) -> None:
        checked = checked_edges(edges)
        if checked:
            await self._write(_upsert_edges, checked)

    async def delete_nodes(self, org_id: str, ids: Sequence[str]) -> int:
        wanted = checked_ids(ids)
        if not wanted:
            return 0
        query = ("UNWIND $ids AS id MATCH (n:LoomaNode {id: id, org_id: $org_id}) "
                 "DETACH DELETE n RETURN count(*) AS deleted")
        return await self._write(_count, query, {"ids": wanted, "org_id": org_id})

    async def delete_edges(self, org_id: str, keys: Sequence[tuple[str, str, str]]) -> int:
        by_type: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
        for source, edge_type, target in checked_edge_keys(keys):
            by_type[edge_type].append({"source": source, "target": target})
        if not by_type:
            return 0

        async def work(tx: AsyncManagedTransaction) -> int:
            deleted = 0
            for edge_type, pairs in sorted(by_type.items()):
                query = (f"UNWIND $pairs AS pair "
                         f"MATCH (a:LoomaNode {{id: pair.source, org_id: $org_id}})"
                         f"-[r:{edge_type}]->(b:LoomaNode {{id: pair.target, org_id: $org_id}}) "
                         f"DELETE r RETURN count(*) AS deleted")
                deleted += await _count(tx, query, {"pairs": pairs, "org_id": org_id})
            return deleted

        return await self._write(work)

    async def get_node(self, org_id: str, node_id: str) -> Node | None:
        rows = await self._read(f"MATCH (n:LoomaNode {{id: $id, org_id: $org_id}}) RETURN {NODE} AS node",
                                id=node_id, org_id=org_id)
        return _node(rows[0]["node"]) if rows else None

    async def edges_from(self, org_id: str, source: str) -> list[Edge]:
        check_org_id(org_id)
        check_id(source, "edge source")
        rows = await self._read(f"MATCH (a:LoomaNode {{id: $id, org_id: $org_id}})-[r]->(b:LoomaNode) "
                                f"WHERE b.org_id = $org_id RETURN {EDGE} AS edge",
                                id=source, org_id=org_id)
        # Sorted in Python, in code point order, as the relational store does.
        return sorted((_edge(row["edge"], org_id) for row in rows), key=edge_key)

    async def neighbours(
        self,
        org_id: str,
        node_id: str,
        depth: int = 1,
        edge_types: Sequence[str] | None = None,
        labels: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        limit: int = 100,
    ) -> list[Node]:
        checked = checked_neighbour_filters(depth, edge_types, labels, where, limit)
        if checked.excludes_everything:
            return []
        filters = ["m.org_id = $org_id", "m.id <> s.id", "all(x IN nodes(p) WHERE x.org_id = $org_id)"]
        parameters: dict[str, Any] = {"id": node_id, "org_id": org_id, "limit": limit}
        if checked.labels is not None:
            filters.append("m.label IN $labels")
            parameters["labels"] = checked.labels
        for i, (name, value) in enumerate(sorted(checked.where.items())):
            filters.append(f"m.p_{name} = $where_{i}")  # name checked by checked_where
            parameters[f"where_{i}"] = value
        query = (f"MATCH (s:LoomaNode {{id: $id, org_id: $org_id}}) "
                 f"MATCH p = (s)-[{_hops(checked.types, 1, depth)}]-(m:LoomaNode) "
                 f"WHERE {' AND '.join(filters)} "
                 f"WITH m, min(length(p)) AS distance "
                 f"RETURN {NODE_FIELDS.format(v='m')} AS node, distance ORDER BY distance, m.id LIMIT $limit")
        return [_node(row["node"]) for row in await self._read(query, **parameters)]

    async def shortest_path(self, org_id: str, source: str, target: str, max_depth: int = 6,
                            edge_types: Sequence[str] | None = None) -> Path | None:
        """One shortest path; which one of several equally short paths is the server's choice."""
        paths = await self._paths("shortestPath", org_id, source, target, max_depth, edge_types)
        return paths[0] if paths else None

    async def all_shortest_paths(self, org_id: str, source: str, target: str, max_depth: int = 6,
                                 edge_types: Sequence[str] | None = None) -> list[Path]:
        return await self._paths("allShortestPaths", org_id, source, target, max_depth, edge_types)

    async def _paths(self, function: str, org_id: str, source: str, target: str, max_depth: int,
                     edge_types: Sequence[str] | None) -> list[Path]:
        check_depth(max_depth)
        types = checked_names(edge_types, "edge type")
        if source == target:
            # Neo4j refuses a shortest path between a node and itself; the answer is the node alone.
            node = await self.get_node(org_id, source)
            return [Path((node,), ())] if node else []
        if types == []:
            return []
        query = (f"MATCH (a:LoomaNode {{id: $source, org_id: $org_id}}) "
                 f"MATCH (b:LoomaNode {{id: $target, org_id: $org_id}}) "
                 f"MATCH p = {function}((a)-[{_hops(types, 1, max_depth)}]-(b)) "
                 f"WHERE all(x IN nodes(p) WHERE x.org_id = $org_id) "
                 f"RETURN {PATH}")
        rows = await self._read(query, source=source, target=target, org_id=org_id)
        paths = [Path(tuple(_node(n) for n in row["nodes"]), tuple(_edge(r, org_id) for r in row["edges"]))
                 for row in rows]
        return sorted(paths, key=path_order)

    async def versions(self, org_id: str | None, label: str) -> dict[str, int]:
        check_label(label)
        org_filter = " AND n.org_id = $org_id" if org_id is not None else ""
        rows = await self._read(f"MATCH (n:{label}) WHERE n:LoomaNode{org_filter} "
                                f"RETURN n.id AS id, n.version AS version", org_id=org_id)
        return {row["id"]: row["version"] for row in rows}

    async def ping(self) -> None:
        async with self._session() as session:
            await (await session.run("RETURN 1")).consume()

    async def close(self) -> None:
        await self._driver.close()


async def _count(tx: AsyncManagedTransaction, query: str, parameters: Mapping[str, Any]) -> int:
    rows = await _rows(tx, query, **parameters)
    return sum(row["deleted"] for row in rows)


async def _upsert_nodes(tx: AsyncManagedTransaction, nodes: Sequence[Node]) -> None:
    # The one MATCH without an org: it looks for ids another org already holds, to refuse them.
    existing = await _rows(tx, "UNWIND $ids AS id MATCH (n:LoomaNode {id: id}) "
                               "RETURN n.id AS id, n.org_id AS org_id, n.label AS label",
                           ids=[node.id for node in nodes])
    stored = {row["id"]: row for row in existing}
    relabel: defaultdict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    by_label: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes:
        before = stored.get(node.id)
        if before is not None and before["org_id"] != node.org_id:
            raise GraphInputError(f"node id {node.id!r} cannot be used in org {node.org_id!r}: "
                                  "node ids are global and this one is taken")
        if before is not None and before["label"] != node.label:
            relabel[(check_label(before["label"]), node.label)].append({"id": node.id, "org_id": node.org_id})
        fields = {"id": node.id, "org_id": node.org_id, "label": node.label, "version": node.version,
                  **stored_properties(node.properties)}
        by_label[node.label].append({"id": node.id, "org_id": node.org_id, "fields": fields})
    for (old, new), keys in sorted(relabel.items()):
        await (await tx.run(f"UNWIND $keys AS key MATCH (n:LoomaNode {{id: key.id, org_id: key.org_id}}) "
                            f"REMOVE n:{old} SET n:{new}", keys=keys)).consume()
    for label, rows in sorted(by_label.items()):
        # Nodes that exist are updated through the id constraint's index alone: ArcadeDB does not use
        # it for a MERGE that names two labels.
        updated = await _rows(tx, "UNWIND $rows AS row MATCH (n:LoomaNode {id: row.id, org_id: row.org_id}) "
                                  "SET n = row.fields RETURN n.id AS id",
                              rows=[row for row in rows if row["id"] in stored])
        done = {row["id"] for row in updated}
        created = [row for row in rows if row["id"] not in done]
        if not created:
            continue
        # The rest are MERGEd with both labels at once: race-free on Neo4j, and a node is never
        # labelled after it is created. One that another org created meanwhile is left alone.
        written = await _rows(tx, f"UNWIND $rows AS row MERGE (n:LoomaNode:{label} {{id: row.id}}) "
                                  f"WITH n, row WHERE coalesce(n.org_id, row.org_id) = row.org_id "
                                  f"SET n = row.fields RETURN count(n) AS written", rows=created)
        if written[0]["written"] != len(created):
            raise GraphInputError(f"{len(created) - written[0]['written']} node id(s) were taken by another org "
                                  "while being written")


async def _upsert_edges(tx: AsyncManagedTransaction, edges: Sequence[Edge]) -> None:
    ends = sorted({(end, edge.org_id) for edge in edges for end in (edge.source, edge.target)})
    found = await _rows(tx, "UNWIND $ends AS end MATCH (n:LoomaNode {id: end.id, org_id: end.org_id}) "
                            "RETURN n.id AS id, n.org_id AS org_id",
                        ends=[{"id": node_id, "org_id": org_id} for node_id, org_id in ends])
    present = {(row["id"], row["org_id"]) for row in found}
    by_type: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for edge in edges:
        for role, end in (("source", edge.source), ("target", edge.target)):
            if (end, edge.org_id) not in present:
                raise GraphInputError(f"edge {edge_key(edge)}: {role} node {end!r} does not exist "
                                      f"in org {edge.org_id!r}")
        fields = {"org_id": edge.org_id, **stored_properties(edge.properties)}
        by_type[edge.type].append({"source": edge.source, "target": edge.target, "org_id": edge.org_id,
                                   "fields": fields})
    for edge_type, rows in sorted(by_type.items()):
        written = await _rows(tx, f"UNWIND $rows AS row "
                                  f"MATCH (a:LoomaNode {{id: row.source, org_id: row.org_id}}) "
                                  f"MATCH (b:LoomaNode {{id: row.target, org_id: row.org_id}}) "
                                  f"MERGE (a)-[r:{edge_type}]->(b) SET r = row.fields "
                                  f"RETURN count(r) AS written", rows=rows)
        if written[0]["written"] != len(rows):  # an end deleted since the check: refuse the whole batch
            raise GraphInputError(f"{len(rows) - written[0]['written']} {edge_type} edge(s) lost an end "
                                  "while being written")

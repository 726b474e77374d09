"""The embedded graph: nodes and edges as two tables in the relational database.

The same SQLAlchemy Core queries run on SQLite and PostgreSQL; only the upsert statement's
dialect is chosen by `relational.backend`. Every write is one `relational.write()` transaction,
so a batch is all-or-nothing. Traversals are breadth-first in application code, one batched
query per level, so their cost follows the part of the graph they reach and both backends
answer identically (no recursive CTE dialect differences).

The rules every GraphStore applies the same way (ids, property values, `where` filters, limits,
path order) are here too, as public functions, and `graph_neo4j` uses them:
- ids are non-empty strings, at most 128 characters (org ids 64), without NUL;
- property names are `check_property` identifiers; values are JSON: strings, booleans, 64-bit
  integers, finite floats, null, lists and maps (nested keys are free);
- `where` maps property names to a string, number or boolean, and matches by JSON equality:
  5 equals 5.0, but 1 does not equal true;
- all shortest paths come ordered by their node ids, then by their edges' (source, type, target).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database.graph import (
    Edge,
    GraphInputError,
    Node,
    Path,
    check_depth,
    check_label,
    check_property,
)
from shared.database.relational import RelationalStore

MAX_ID_LENGTH = 128
MAX_ORG_ID_LENGTH = 64
MAX_LIMIT = 10_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ID_CHUNK = 500  # ids per IN (...): well under SQLite's and asyncpg's parameter limits

metadata = sa.MetaData()
graph_nodes = sa.Table(
    "graph_nodes",
    metadata,
    sa.Column("id", sa.String(MAX_ID_LENGTH), primary_key=True),
    sa.Column("org_id", sa.String(MAX_ORG_ID_LENGTH), nullable=False),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("properties", sa.JSON, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)
graph_edges = sa.Table(
    "graph_edges",
    metadata,
    sa.Column("org_id", sa.String(MAX_ORG_ID_LENGTH), nullable=False),
    sa.Column("source", sa.String(MAX_ID_LENGTH), sa.ForeignKey("graph_nodes.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("type", sa.String(64), primary_key=True),
    sa.Column("target", sa.String(MAX_ID_LENGTH), sa.ForeignKey("graph_nodes.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("properties", sa.JSON, nullable=False),
)

EdgeKey = tuple[str, str, str]


# --- The rules both stores apply --------------------------------------------------------------


def check_id(value: Any, what: str = "node id", max_length: int = MAX_ID_LENGTH) -> str:
    if not isinstance(value, str) or not value:
        raise GraphInputError(f"{what} must be a non-empty string, not {value!r}")
    if len(value) > max_length:
        raise GraphInputError(f"{what} {value[:40]!r}... is {len(value)} characters; the limit is {max_length}")
    if "\x00" in value:
        raise GraphInputError(f"{what} {value!r} contains a NUL character")
    return value


def check_org_id(value: Any) -> str:
    return check_id(value, "org id", MAX_ORG_ID_LENGTH)


def check_version(value: Any, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not INT64_MIN <= value <= INT64_MAX:
        raise GraphInputError(f"{owner}: version must be a 64-bit integer, not {value!r}")
    return value


def _check_json_value(value: Any, where: str) -> Any:
    """The value as plain JSON (tuples become lists); anything JSON or a 64-bit store cannot hold is refused."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise GraphInputError(f"{where}: integer {value} does not fit in 64 bits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise GraphInputError(f"{where}: {value} is not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_check_json_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        checked = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise GraphInputError(f"{where}: map key {key!r} is not a string")
            checked[key] = _check_json_value(item, f"{where}.{key}")
        return checked
    raise GraphInputError(f"{where}: {type(value).__name__} is not a JSON value")


def checked_properties(properties: Mapping[str, Any], owner: str) -> dict[str, Any]:
    if not isinstance(properties, Mapping):
        raise GraphInputError(f"{owner}: properties must be a map, not {type(properties).__name__}")
    checked = {}
    for name, value in properties.items():
        if not isinstance(name, str):
            raise GraphInputError(f"{owner}: property name {name!r} is not a string")
        check_property(name)
        checked[name] = _check_json_value(value, f"{owner}: property {name!r}")
    return checked


def checked_nodes(nodes: Sequence[Node]) -> list[Node]:
    """Validated copies with plain-JSON properties; a repeated id keeps its last occurrence. Sorted by id."""
    latest: dict[str, Node] = {}
    for node in nodes:
        node_id = check_id(node.id)
        owner = f"node {node_id!r}"
        latest[node_id] = Node(
            id=node_id,
            label=check_label(node.label),
            org_id=check_org_id(node.org_id),
            properties=checked_properties(node.properties, owner),
            version=check_version(node.version, owner),
        )
    return [latest[node_id] for node_id in sorted(latest)]


def checked_edges(edges: Sequence[Edge]) -> list[Edge]:
    """Validated copies with plain-JSON properties; a repeated key keeps its last occurrence. Sorted by key."""
    latest: dict[EdgeKey, Edge] = {}
    for edge in edges:
        key = (check_id(edge.source, "edge source"), check_label(edge.type, "edge type"),
               check_id(edge.target, "edge target"))
        latest[key] = Edge(
            source=key[0],
            type=key[1],
            target=key[2],
            org_id=check_org_id(edge.org_id),
            properties=checked_properties(edge.properties, f"edge {key}"),
        )
    return [latest[key] for key in sorted(latest)]


def checked_edge_keys(keys: Sequence[tuple[str, str, str]]) -> list[EdgeKey]:
    checked = set()
    for key in keys:
        if len(key) != 3:
            raise GraphInputError(f"edge key {key!r} must be (source, type, target)")
        source, edge_type, target = key
        checked.add((check_id(source, "edge source"), check_label(edge_type, "edge type"),
                     check_id(target, "edge target")))
    return sorted(checked)


def checked_ids(ids: Sequence[str]) -> list[str]:
    return sorted({check_id(node_id) for node_id in ids})


def checked_names(names: Sequence[str] | None, what: str) -> list[str] | None:
    """Distinct labels or edge types, sorted; None (no filter) stays None."""
    if names is None:
        return None
    if isinstance(names, str):
        raise GraphInputError(f"{what}s must be a list of names, not the string {names!r}")
    return sorted({check_label(name, what) for name in names})


def checked_where(where: Mapping[str, Any] | None) -> dict[str, Any]:
    if not where:
        return {}
    checked = {}
    for name, value in where.items():
        check_property(name)
        if value is None or not isinstance(value, (str, int, float)):
            raise GraphInputError(f"where {name!r}: the value must be a string, number or boolean, not {value!r}")
        checked[name] = _check_json_value(value, f"where {name!r}")
    return checked


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise GraphInputError(f"limit {limit!r} must be an integer between 1 and {MAX_LIMIT}")
    return limit


@dataclass(frozen=True)
class NeighbourFilters:
    types: list[str] | None  # None: any edge type
    labels: list[str] | None  # None: any label
    where: dict[str, Any]

    @property
    def excludes_everything(self) -> bool:
        """An empty list of types or labels, as opposed to none given, matches no node."""
        return self.types == [] or self.labels == []


def checked_neighbour_filters(depth: int, edge_types: Sequence[str] | None, labels: Sequence[str] | None,
                              where: Mapping[str, Any] | None, limit: int) -> NeighbourFilters:
    """The `neighbours` arguments both stores accept, checked the same way."""
    check_depth(depth)
    check_limit(limit)
    return NeighbourFilters(checked_names(edge_types, "edge type"), checked_names(labels, "label"),
                            checked_where(where))


def json_equal(stored: Any, wanted: Any) -> bool:
    """Equality as JSON sees it: numbers by value whatever their type, booleans only with booleans."""
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return type(stored) is type(wanted) and stored == wanted
    if isinstance(stored, (int, float)) and isinstance(wanted, (int, float)):
        return stored == wanted
    return type(stored) is type(wanted) and stored == wanted


def matches(properties: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    return all(name in properties and json_equal(properties[name], value) for name, value in where.items())


def edge_key(edge: Edge) -> EdgeKey:
    return (edge.source, edge.type, edge.target)


def path_order(path: Path) -> tuple[tuple[str, ...], tuple[EdgeKey, ...]]:
    return (tuple(node.id for node in path.nodes), tuple(edge_key(edge) for edge in path.edges))


def chunks(values: Sequence[Any], size: int = ID_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


# --- The store ----------------------------------------------------------------------------------


class RelationalGraph:
    """GraphStore over `graph_nodes` / `graph_edges` in the relational database (the embedded default)."""

    backend = "relational"

    def __init__(self, relational: RelationalStore) -> None:
        self.relational = relational

    def _insert(self, table: sa.Table) -> Any:
        if self.relational.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif self.relational.backend == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            raise RuntimeError(f"no upsert for relational backend {self.relational.backend!r}")
        return insert(table)

    async def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        checked = checked_nodes(nodes)
        if not checked:
            return
        insert = self._insert(graph_nodes)
        upsert = insert.on_conflict_do_update(
            index_elements=[graph_nodes.c.id],
            set_={"label": insert.excluded.label, "properties": insert.excluded.properties,
                  "version": insert.excluded.version},
            # Never take over another org's node, even one created after the check below.
            where=graph_nodes.c.org_id == insert.excluded.org_id,
        ).returning(graph_nodes.c.id)
        async with self.relational.write() as conn:
            owners = await _owners(conn, [node.id for node in checked])
            for node in checked:
                if owners.get(node.id, node.org_id) != node.org_id:
                    raise GraphInputError(f"node id {node.id!r} cannot be used in org {node.org_id!r}: "
                                          "node ids are global and this one is taken")
            written = await conn.execute(upsert, [
                {"id": node.id, "org_id": node.org_id, "label": node.label, "properties": node.properties,
                 "version": node.version} for node in checked])
            refused = sorted({node.id for node in checked} - set(written.scalars()))
            if refused:  # another org created them between the check and the upsert (PostgreSQL only)
                raise GraphInputError(f"node ids {refused} were taken by another org while being written")

    async def upsert_edges(self, edges: Sequence[Edge]) -> None:
        checked = checked_edges(edges)
        if not checked:
            return
        insert = self._insert(graph_edges)
        upsert = insert.on_conflict_do_update(
            index_elements=[graph_edges.c.source, graph_edges.c.type, graph_edges.c.target],
            set_={"org_id": insert.excluded.org_id, "properties": insert.excluded.properties},
        )
        async with self.relational.write() as conn:
            owners = await _owners(conn, sorted({end for edge in checked for end in (edge.source, edge.target)}))
            for edge in checked:
                for role, end in (("source", edge.source), ("target", edge.target)):
                    if owners.get(end) != edge.org_id:
                        raise GraphInputError(f"edge {edge_key(edge)}: {role} node {end!r} does not exist "
                                              f"in org {edge.org_id!r}")
            await conn.execute(upsert, [
                {"org_id": edge.org_id, "source": edge.source, "type": edge.type, "target": edge.target,
                 "properties": edge.properties} for edge in checked])

    async def delete_nodes(self, org_id: str, ids: Sequence[str]) -> int:
        wanted = checked_ids(ids)
        deleted = 0
        async with self.relational.write() as conn:
            for chunk in chunks(wanted):
                # The foreign keys cascade too; deleting edges first keeps that a safety net, not a dependency.
                await conn.execute(graph_edges.delete().where(
                    graph_edges.c.org_id == org_id,
                    sa.or_(graph_edges.c.source.in_(chunk), graph_edges.c.target.in_(chunk))))
                result = await conn.execute(graph_nodes.delete().where(
                    graph_nodes.c.org_id == org_id, graph_nodes.c.id.in_(chunk)))
                deleted += result.rowcount
        return deleted

    async def delete_edges(self, org_id: str, keys: Sequence[tuple[str, str, str]]) -> int:
        wanted = checked_edge_keys(keys)
        deleted = 0
        columns = sa.tuple_(graph_edges.c.source, graph_edges.c.type, graph_edges.c.target)
        async with self.relational.write() as conn:
            for chunk in chunks(wanted, ID_CHUNK // 3):
                result = await conn.execute(graph_edges.delete().where(
                    graph_edges.c.org_id == org_id, columns.in_(list(chunk))))
                deleted += result.rowcount
        return deleted

    async def get_node(self, org_id: str, node_id: str) -> Node | None:
        async with self.relational.read() as conn:
            found = await _nodes(conn, org_id, [node_id])
        return found.get(node_id)

    async def edges_from(self, org_id: str, source: str) -> list[Edge]:
        check_org_id(org_id)
        check_id(source, "edge source")
        query = sa.select(graph_edges.c.type, graph_edges.c.target, graph_edges.c.properties).where(
            graph_edges.c.org_id == org_id, graph_edges.c.source == source)
        async with self.relational.read() as conn:
            rows = (await conn.execute(query)).all()
        # Sorted here rather than by ORDER BY: the database's collation need not be code point order.
        return sorted((Edge(source, row.type, row.target, org_id, _loaded(row.properties)) for row in rows),
                      key=edge_key)

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
        filters = checked_neighbour_filters(depth, edge_types, labels, where, limit)
        if filters.excludes_everything:
            return []
        found: list[Node] = []
        async with self.relational.read() as conn:
            if not await _nodes(conn, org_id, [node_id]):
                return []
            seen = {node_id}
            frontier = [node_id]
            for _ in range(depth):
                reached = sorted({other for _, other, _ in await _adjacent(conn, org_id, frontier, filters.types)}
                                 - seen)
                if not reached:
                    break
                seen.update(reached)
                # Nodes come out by distance, then id: a level that fills the limit ends the walk.
                level = await _nodes(conn, org_id, reached, filters.labels)
                found.extend(level[key] for key in sorted(level) if matches(level[key].properties, filters.where))
                if len(found) >= limit:
                    break
                frontier = reached
        return found[:limit]

    async def shortest_path(self, org_id: str, source: str, target: str, max_depth: int = 6,
                            edge_types: Sequence[str] | None = None) -> Path | None:
        paths = await self._shortest(org_id, source, target, max_depth, edge_types, every=False)
        return paths[0] if paths else None

    async def all_shortest_paths(self, org_id: str, source: str, target: str, max_depth: int = 6,
                                 edge_types: Sequence[str] | None = None) -> list[Path]:
        return await self._shortest(org_id, source, target, max_depth, edge_types, every=True)

    async def _shortest(self, org_id: str, source: str, target: str, max_depth: int,
                        edge_types: Sequence[str] | None, every: bool) -> list[Path]:
        """Breadth-first from `source`, level by level, keeping every edge that reaches a node first.

        With `every`, all shortest paths in `path_order`; otherwise only the first of them, found
        by walking forward through the smallest next step that still leads to `target`.
        """
        check_depth(max_depth)
        types = checked_names(edge_types, "edge type")
        async with self.relational.read() as conn:
            ends = await _nodes(conn, org_id, [source, target])
            if source not in ends or target not in ends:
                return []
            if source == target:
                return [Path((ends[source],), ())]
            if types == []:
                return []
            distance = {source: 0}
            arrivals: defaultdict[str, list[tuple[str, Edge]]] = defaultdict(list)  # node -> (previous, edge)
            frontier = [source]
            for level in range(1, max_depth + 1):
                reached: set[str] = set()
                for here, there, edge in await _adjacent(conn, org_id, frontier, types, org_id):
                    if distance.get(there, level) == level:  # new, or reached at this level another way
                        distance[there] = level
                        reached.add(there)
                        arrivals[there].append((here, edge))
                if target in reached or not reached:
                    break
                frontier = sorted(reached)
            if target not in distance:
                return []
            # Keep only the arrivals that lie on some shortest path to the target.
            leads = {target}
            steps: defaultdict[str, list[tuple[str, Edge]]] = defaultdict(list)  # node -> (next, edge)
            pending = [target]
            while pending:
                node = pending.pop()
                for previous, edge in arrivals[node]:
                    steps[previous].append((node, edge))
                    if previous not in leads:
                        leads.add(previous)
                        pending.append(previous)
            for options in steps.values():
                options.sort(key=lambda option: (option[0], edge_key(option[1])))
            routes = _routes(source, target, steps) if every else [_first_route(source, target, steps)]
            nodes = await _nodes(conn, org_id, sorted(leads))
        return [Path(tuple(nodes[node_id] for node_id in node_ids), edges) for node_ids, edges in routes]

    async def versions(self, org_id: str | None, label: str) -> dict[str, int]:
        check_label(label)
        query = sa.select(graph_nodes.c.id, graph_nodes.c.version).where(graph_nodes.c.label == label)
        if org_id is not None:
            query = query.where(graph_nodes.c.org_id == org_id)
        async with self.relational.read() as conn:
            return {row.id: row.version for row in await conn.execute(query)}

    async def ping(self) -> None:
        async with self.relational.read() as conn:
            await conn.execute(sa.select(graph_nodes.c.id).limit(1))

    async def close(self) -> None:
        """Nothing of its own to close: the relational store belongs to UnifiedDataAccess."""


async def _owners(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, str]:
    """Node id to org id, for those of `ids` that exist in any org."""
    owners: dict[str, str] = {}
    for chunk in chunks(ids):
        rows = await conn.execute(sa.select(graph_nodes.c.id, graph_nodes.c.org_id).where(graph_nodes.c.id.in_(chunk)))
        owners.update({row.id: row.org_id for row in rows})
    return owners


async def _nodes(conn: AsyncConnection, org_id: str, ids: Iterable[str],
                 labels: Sequence[str] | None = None) -> dict[str, Node]:
    found: dict[str, Node] = {}
    for chunk in chunks(sorted(set(ids))):
        query = sa.select(graph_nodes).where(graph_nodes.c.org_id == org_id, graph_nodes.c.id.in_(chunk))
        if labels is not None:
            query = query.where(graph_nodes.c.label.in_(labels))
        for row in await conn.execute(query):
            found[row.id] = Node(row.id, row.label, row.org_id, _loaded(row.properties), row.version)
    return found


async def _adjacent(conn: AsyncConnection, org_id: str, frontier: Sequence[str], types: Sequence[str] | None,
                    edge_org: str | None = None) -> list[tuple[str, str, Edge]]:
    """(node in frontier, node across, edge) for every edge touching the frontier, either direction.

    An edge between two frontier nodes appears twice, once from each end. Edges are built only
    when `edge_org` is given (paths need them; neighbours need only ids).
    """
    columns = [graph_edges.c.source, graph_edges.c.type, graph_edges.c.target]
    if edge_org is not None:
        columns.append(graph_edges.c.properties)
    found: list[tuple[str, str, Edge]] = []
    for chunk in chunks(list(frontier)):
        members = set(chunk)
        filters = [graph_edges.c.org_id == org_id]
        if types is not None:
            filters.append(graph_edges.c.type.in_(types))
        # Two arms so that each uses its own index: the primary key from the source, graph_edges_target back.
        query = sa.union_all(
            sa.select(*columns).where(*filters, graph_edges.c.source.in_(chunk)),
            sa.select(*columns).where(*filters, graph_edges.c.target.in_(chunk), graph_edges.c.source.not_in(chunk)),
        )
        for row in await conn.execute(query):
            edge = (Edge(row.source, row.type, row.target, edge_org, _loaded(row.properties))
                    if edge_org is not None else Edge(row.source, row.type, row.target, org_id))
            if row.source in members:
                found.append((row.source, row.target, edge))
            if row.target in members:
                found.append((row.target, row.source, edge))
    return found


def _loaded(properties: Any) -> dict[str, Any]:
    # PostgreSQL's json type comes back parsed; a driver that hands back text gets parsed here.
    return json.loads(properties) if isinstance(properties, str) else dict(properties)


Route = tuple[tuple[str, ...], tuple[Edge, ...]]


def _routes(source: str, target: str, steps: Mapping[str, list[tuple[str, Edge]]]) -> list[Route]:
    """Every route from source to target through `steps` (each option sorted), in path order."""
    routes: list[Route] = []

    def walk(node: str, node_ids: tuple[str, ...], edges: tuple[Edge, ...]) -> None:
        if node == target:
            routes.append((node_ids, edges))
            return
        for following, edge in steps.get(node, ()):
            walk(following, node_ids + (following,), edges + (edge,))

    walk(source, (source,), ())
    routes.sort(key=lambda route: (route[0], tuple(edge_key(edge) for edge in route[1])))
    return routes


def _first_route(source: str, target: str, steps: Mapping[str, list[tuple[str, Edge]]]) -> Route:
    """The first route in path order: where a step leads never depends on how the node was reached,
    so the smallest next node (then edge) at each step gives the smallest node ids, then edges."""
    node_ids, edges, node = [source], [], source
    while node != target:
        node, edge = steps[node][0]
        node_ids.append(node)
        edges.append(edge)
    return tuple(node_ids), tuple(edges)

"""The graph capability: the relationship network of talents, companies, jobs and people.

Nodes have a globally unique id, one label and JSON-able properties, and belong to one org;
edges are typed and directed, identified by (source, type, target). Every read is scoped to an
org. Labels, edge types and property names go into Cypher text, so they must be identifiers
(checked by `check_label` / `check_property`); values always travel as parameters.

Implementations: `RelationalGraph` (tables in the relational DB, the embedded default) and
`Neo4jGraph` (the official async driver), both passing tests/contract/test_graph_contract.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

LABEL = re.compile(r"^[A-Z][A-Za-z0-9_]{0,63}$")
PROPERTY = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
MAX_DEPTH = 6


class GraphInputError(ValueError):
    """A label, type, property name, depth or value the graph store refuses, with the reason."""


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    org_id: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True)
class Edge:
    source: str
    type: str
    target: str
    org_id: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Path:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


@runtime_checkable
class GraphStore(Protocol):
    backend: str

    async def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        """Create or replace each node's label, properties and version, in one transaction."""

    async def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Create or replace each edge's properties, in one transaction. Both ends must exist in the org."""

    async def delete_nodes(self, org_id: str, ids: Sequence[str]) -> int:
        """Delete nodes and every edge touching them; the count of nodes deleted."""

    async def delete_edges(self, org_id: str, keys: Sequence[tuple[str, str, str]]) -> int:
        """Delete edges by (source, type, target); the count deleted."""

    async def get_node(self, org_id: str, node_id: str) -> Node | None: ...

    async def edges_from(self, org_id: str, source: str) -> list[Edge]:
        """The node's outgoing edges, ordered by type then target; none for a node absent from the org."""

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
        """Nodes within `depth` hops (either direction), excluding the start, ordered by distance then id.

        `edge_types` limits the hops, `labels` and `where` (property equality) the nodes returned.
        """

    async def shortest_path(self, org_id: str, source: str, target: str, max_depth: int = MAX_DEPTH,
                            edge_types: Sequence[str] | None = None) -> Path | None: ...

    async def all_shortest_paths(self, org_id: str, source: str, target: str, max_depth: int = MAX_DEPTH,
                                 edge_types: Sequence[str] | None = None) -> list[Path]: ...

    async def versions(self, org_id: str | None, label: str) -> dict[str, int]:
        """Node id to version for every node with `label` (in one org, or all when None): for reconcile."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def check_label(name: str, what: str = "label") -> str:
    if not LABEL.match(name):
        raise GraphInputError(f"{what} {name!r} must be an identifier starting with a capital letter")
    return name


def check_property(name: str) -> str:
    if not PROPERTY.match(name):
        raise GraphInputError(f"property name {name!r} must be a lower-case identifier")
    return name


def check_depth(depth: int) -> int:
    if not 1 <= depth <= MAX_DEPTH:
        raise GraphInputError(f"depth {depth} must be between 1 and {MAX_DEPTH}")
    return depth


def open_graph(neo4j_url: str | None, relational: Any) -> GraphStore:
    """Neo4j when a URL is configured, otherwise tables in the relational store."""
    if neo4j_url:
        from shared.database.graph_neo4j import Neo4jGraph

        return Neo4jGraph(neo4j_url)
    from shared.database.graph_relational import RelationalGraph

    return RelationalGraph(relational)

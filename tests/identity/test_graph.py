"""Connected components by label propagation in the warehouse, checked against scipy."""

from __future__ import annotations

import ibis
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.backends import BaseBackend
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from guanxi.identity.graph import connected_components


def _components(con: BaseBackend, nodes: int, edges: list[tuple[int, int]]) -> tuple[list[int], int]:
    node_table = ibis.memtable({"node": list(range(nodes))}, schema={"node": "int64"})
    edge_table = ibis.memtable(
        {"src": [a for a, _ in edges], "dst": [b for _, b in edges]}, schema={"src": "int64", "dst": "int64"}
    )
    result = connected_components(con, node_table, edge_table, output="components")
    rows = con.table("components").order_by("node").to_pyarrow().to_pylist()
    return [r["component"] for r in rows], result.iterations


def _scipy_labels(nodes: int, edges: list[tuple[int, int]]) -> list[int]:
    """scipy's components relabelled by their smallest node, like ours."""
    src = np.array([a for a, _ in edges], dtype=np.int64)
    dst = np.array([b for _, b in edges], dtype=np.int64)
    graph = coo_matrix((np.ones(len(edges)), (src, dst)), shape=(nodes, nodes))
    _, labels = scipy_components(graph, directed=False)
    smallest: dict[int, int] = {}
    for node, label in enumerate(labels):
        smallest.setdefault(int(label), node)
    return [smallest[int(label)] for label in labels]


def test_a_long_shuffled_path_is_one_component_in_few_iterations() -> None:
    # given a path through 2,000 nodes in random order, plus 3 isolated nodes
    con = ibis.duckdb.connect()
    order = np.random.default_rng(7).permutation(2000).tolist()
    edges = list(zip(order[:-1], order[1:], strict=True))
    # when labelling
    labels, iterations = _components(con, 2003, edges)
    # then the path is one component labelled 0, the isolated nodes are their own, in O(log n) rounds
    assert labels == [0] * 2000 + [2000, 2001, 2002]
    assert iterations <= 20


@settings(max_examples=15, deadline=None)
@given(
    nodes=st.integers(1, 40),
    data=st.data(),
)
def test_labels_match_scipy_on_random_graphs(nodes: int, data: st.DataObject) -> None:
    edges = data.draw(st.lists(st.tuples(st.integers(0, nodes - 1), st.integers(0, nodes - 1)), max_size=60))
    con = ibis.duckdb.connect()
    labels, _ = _components(con, nodes, edges)
    assert labels == _scipy_labels(nodes, edges)

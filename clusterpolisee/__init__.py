"""ClusterPoliSEE knowledge graph: ontology, validation, store, stored questions."""

__version__ = "0.1.0"

"""Vector service: embeddings, semantic and hybrid search."""

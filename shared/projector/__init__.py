"""The projector: delivers outbox events to the graph, vector and full-text stores."""

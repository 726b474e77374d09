"""`python -m shared.projector`: run the outbox projector with its health and metrics port."""

from shared.projector.app import ProjectorService

if __name__ == "__main__":
    ProjectorService().run()

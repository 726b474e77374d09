"""`python -m ai_services.vector_service`: serve this service on its fleet port."""

from ai_services.vector_service.app import VectorService

if __name__ == "__main__":
    VectorService().run()

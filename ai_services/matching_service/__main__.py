"""`python -m ai_services.matching_service`: serve this service on its fleet port."""

from ai_services.matching_service.app import MatchingService

if __name__ == "__main__":
    MatchingService().run()

"""`python -m ai_services.config_service`: serve this service on its fleet port."""

from ai_services.config_service.app import ConfigService

if __name__ == "__main__":
    ConfigService().run()

"""`python -m ai_services.auth_service`: serve this service on its fleet port."""

from ai_services.auth_service.app import AuthService

if __name__ == "__main__":
    AuthService().run()

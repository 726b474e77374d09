"""`python -m ai_services.chat_service`: serve this service on its fleet port."""

from ai_services.chat_service.app import ChatService

if __name__ == "__main__":
    ChatService().run()

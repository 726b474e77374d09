"""`python -m ai_services.ai_gateway`: serve the gateway on its fleet port."""

from ai_services.ai_gateway.app import GatewayService

if __name__ == "__main__":
    GatewayService().run()

"""`python -m ai_services.monitor_service`: serve this service on its fleet port."""

from ai_services.monitor_service.app import MonitorService

if __name__ == "__main__":
    MonitorService().run()

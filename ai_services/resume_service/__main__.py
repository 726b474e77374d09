"""`python -m ai_services.resume_service`: serve this service on its fleet port."""

from ai_services.resume_service.app import ResumeService

if __name__ == "__main__":
    ResumeService().run()

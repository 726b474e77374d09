"""`python -m looma_crm`: serve this service on its fleet port."""

from looma_crm.app import CrmService

if __name__ == "__main__":
    CrmService().run()

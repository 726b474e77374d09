"""The fleet's fixed table: every service, its port, its package and the routes it owns.

Data only. The CLI starts services by module name, so this module imports no service.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    port: int
    module: str
    prefixes: tuple[str, ...] = ()


GATEWAY = ServiceSpec("gateway", "AI gateway", 8206, "ai_services.ai_gateway")
RESUME = ServiceSpec("resume", "Resume service", 8207, "ai_services.resume_service", ("/api/v1/resumes",))
MATCHING = ServiceSpec("matching", "Matching service", 8208, "ai_services.matching_service", ("/api/v1/matching",))
CHAT = ServiceSpec("chat", "Chat service", 8209, "ai_services.chat_service", ("/api/v1/chat",))
VECTOR = ServiceSpec("vector", "Vector service", 8210, "ai_services.vector_service", ("/api/v1/vectors",))
AUTH = ServiceSpec("auth", "Auth service", 8211, "ai_services.auth_service", ("/api/v1/auth",))
MONITOR = ServiceSpec("monitor", "Monitor service", 8212, "ai_services.monitor_service", ("/api/v1/monitor",))
CONFIG = ServiceSpec("config", "Config service", 8213, "ai_services.config_service", ("/api/v1/config",))
CRM = ServiceSpec(
    "crm",
    "Looma CRM core",
    8888,
    "looma_crm",
    ("/api/v1/talents", "/api/v1/jobs", "/api/v1/companies", "/api/v1/projects", "/api/v1/applications",
     "/api/v1/notes", "/api/v1/relationships", "/api/v1/stats", "/api/v1/imports"),
)

FLEET: tuple[ServiceSpec, ...] = (GATEWAY, RESUME, MATCHING, CHAT, VECTOR, AUTH, MONITOR, CONFIG, CRM)
UPSTREAMS: tuple[ServiceSpec, ...] = tuple(spec for spec in FLEET if spec is not GATEWAY)

# Workers serve no API through the gateway; their port carries /health, /ready and /metrics only.
PROJECTOR = ServiceSpec("projector", "Outbox projector", 8214, "shared.projector")
WORKERS: tuple[ServiceSpec, ...] = (PROJECTOR,)
PROCESSES: tuple[ServiceSpec, ...] = FLEET + WORKERS  # everything `looma up` runs


def instance_id(service: str, url: str) -> str:
    """The stable id of an instance: restarting it on the same address replaces, not duplicates."""
    return f"{service}@{url.split('://', 1)[-1].rstrip('/')}"


def by_name(name: str) -> ServiceSpec:
    for spec in PROCESSES:
        if spec.name == name:
            return spec
    raise KeyError(f"no service named {name!r}; known: {', '.join(s.name for s in FLEET)}")

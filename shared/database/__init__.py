"""UnifiedDataAccess and the stores behind it, one module per backend."""

from shared.database.access import UnifiedDataAccess
from shared.database.cache import Cache, LockTimeout, Subscription, open_cache
from shared.database.relational import PostgresStore, RelationalStore, SQLiteStore, open_relational

__all__ = [
    "Cache",
    "LockTimeout",
    "PostgresStore",
    "RelationalStore",
    "SQLiteStore",
    "Subscription",
    "UnifiedDataAccess",
    "open_cache",
    "open_relational",
]

"""Container health check: exit 0 when this container's service answers 200 on /ready."""

import os
import sys
import urllib.request

port = int(os.environ["LOOMA_SERVICE_PORT"])
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=3) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)

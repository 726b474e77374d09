"""`looma up`'s process supervisor: one OS process per service, restarted when it crashes.

Services are started by module name (`python -m <module>`), so this module imports none of them.
Each child runs in its own session, so a Ctrl-C in the terminal reaches only the supervisor, which
then stops the upstream services first and the gateway last.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.fleet import ServiceSpec

log = logging.getLogger("looma.up")

BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # a process that ran this long gets its backoff reset when it next dies


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the supervisor itself is killed (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    spec: ServiceSpec
    url: str
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)


class FleetSupervisor:
    def __init__(self, specs: list[ServiceSpec], urls: dict[str, str], env: dict[str, str], log_dir: Path,
                 state_file: Path) -> None:
        self.children = {spec.name: Child(spec, urls[spec.name]) for spec in specs}
        self.env = env
        self.log_dir = log_dir
        self.state_file = state_file
        self.stopping = False

    async def start(self, name: str) -> None:
        child = self.children[name]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab", buffering=0) as output:
            child.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", child.spec.module,
                env=self.env, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
                start_new_session=True, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        child.started_at = time.monotonic()
        child.watcher = asyncio.create_task(self._watch(child), name=f"watch-{name}")
        self._write_state()

    async def _watch(self, child: Child) -> None:
        assert child.process is not None
        code = await child.process.wait()
        if self.stopping:
            return
        if time.monotonic() - child.started_at >= STABLE_AFTER:
            child.backoff = BACKOFF_START
        child.restarts += 1
        log.warning(f"{child.spec.name} exited with code {code}; restarting in {child.backoff:.0f}s "
                    f"(restart #{child.restarts}, log: {self.log_dir / (child.spec.name + '.log')})")
        await asyncio.sleep(child.backoff)
        child.backoff = min(child.backoff * 2, BACKOFF_MAX)
        if not self.stopping:
            await self.start(child.spec.name)
            log.info(f"{child.spec.name} restarted (pid {child.process.pid})")

    async def stop(self, timeout: float) -> None:
        """SIGTERM upstreams, then the gateway; SIGKILL whatever outlives `timeout`."""
        self.stopping = True
        names = list(self.children)
        for group in (names[1:], names[:1]):
            running = [self.children[n] for n in group if self._alive(self.children[n])]
            for child in running:
                child.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            waits = [asyncio.wait_for(c.process.wait(), timeout) for c in running]  # type: ignore[union-attr]
            for child, result in zip(running, await asyncio.gather(*waits, return_exceptions=True), strict=True):
                if isinstance(result, TimeoutError):
                    log.warning(f"{child.spec.name} did not stop within {timeout:.0f}s; killing it")
                    child.process.kill()  # type: ignore[union-attr]
                    await child.process.wait()  # type: ignore[union-attr]
        for child in self.children.values():
            if child.watcher is not None:
                child.watcher.cancel()
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()

    @staticmethod
    def _alive(child: Child) -> bool:
        return child.process is not None and child.process.returncode is None

    def _write_state(self) -> None:
        state = {
            "supervisor_pid": os.getpid(),
            "services": {
                name: {"pid": c.process.pid if c.process else None, "url": c.url, "restarts": c.restarts}
                for name, c in self.children.items()
            },
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

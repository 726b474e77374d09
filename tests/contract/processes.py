"""Child Python processes for the two-process tests of the embedded stores."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LINE_TIMEOUT = 20.0


class PythonProcess:
    """A child running `script` with `args` as sys.argv[1:], spoken to line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, script: str, *args: str) -> PythonProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            textwrap.dedent(script),
            *args,
            cwd=REPO_ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def read_line(self) -> str:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), LINE_TIMEOUT)
        if not line:
            _, stderr = await self.finish()
            raise AssertionError(f"child exited before writing a line; stderr:\n{stderr}")
        return line.decode().rstrip("\n")

    async def send_line(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def finish(self) -> tuple[str, str]:
        """Wait for the exit; the rest of stdout and stderr. A non-zero exit fails with stderr."""
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), LINE_TIMEOUT)
        out, err = stdout.decode(), stderr.decode()
        assert self.process.returncode == 0, f"child exited with {self.process.returncode}; stderr:\n{err}"
        return out, err



@asynccontextmanager
async def python_process(script: str, *args: str) -> AsyncIterator[PythonProcess]:
    """Start a child; one still running when the block ends (say, a failed test) is killed."""
    child = await PythonProcess.start(script, *args)
    try:
        yield child
    finally:
        if child.process.returncode is None:
            child.process.kill()
            await child.process.communicate()

"""A Dask scheduler for ``local:N`` that stops when the process that started it is gone.

``python -m gxapp.execute._scheduler PORT DASHBOARD_PORT PARENT_PID``: Dask's own command-line
scheduler would outlive a gxapp process that was killed (``kill -9``, a crashed server); this
one checks its parent every second and shuts down when it changed, and its workers follow
(``--death-timeout``)."""

from __future__ import annotations

import asyncio
import os
import sys


async def _main(port: int, dashboard: int, parent: int) -> None:
    from distributed import Scheduler

    async with Scheduler(host="127.0.0.1", port=port, dashboard_address=f"127.0.0.1:{dashboard}") as s:
        while os.getppid() == parent and s.status.name == "running":
            await asyncio.sleep(1.0)
        await s.close()


if __name__ == "__main__":
    port, dashboard, parent = (int(v) for v in sys.argv[1:4])
    asyncio.run(_main(port, dashboard, parent))

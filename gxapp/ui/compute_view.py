"""Where the app's networks are trained: this process or a Dask cluster (docs/scale-out.md).

The executor is configured once per server process from ``$GXAPP_DASK`` and can be changed
in the sidebar while no job is running. It is an execution setting: results and cache keys
do not depend on it."""

from __future__ import annotations

import streamlit as st

from gxapp import execute
from gxapp.errors import GxError
from gxapp.ui import jobs_panel


@st.cache_resource
def _configured() -> dict:
    """The process-wide executor, set from $GXAPP_DASK the first time any page runs."""
    state = {"error": None}
    try:
        execute.configure_from_env()
    except GxError as exc:  # a wrong or unreachable address: say so and train in this process
        state["error"] = f"{execute.ENV}: {exc}"
        execute.configure(None)
    return state


def _summary(ex) -> str:
    if ex.kind == "dask":
        n = ex.n_workers
        return f"Dask, {n} worker{'s' * (n != 1)}"
    if ex.kind == "processes":
        return f"{ex.n_workers} local processes"
    return "this computer"


def _busy() -> bool:
    return any(not j.done for j in jobs_panel.manager().jobs())


def sidebar_panel() -> None:
    """The sidebar's Compute box: the executor, its workers, the dashboard, and a way to change it."""
    state = _configured()
    ex = execute.current()
    with st.sidebar.expander(f"Compute: {_summary(ex)}", icon=":material/lan:"):
        if state["error"]:
            st.warning(state["error"] + " — training in this process instead.")
        if ex.kind == "dask":
            how = {
                "shared filesystem": "workers read the genotypes from the shared cache folder",
                "scattered to each worker": "the genotypes are sent to each worker once",
            }.get(ex.describe().get("data"), "")
            st.markdown(f"Scheduler `{ex.address}`; {how}.")
            link = ex.dashboard_link
            if link:
                st.markdown(f"[Open the Dask dashboard]({link})")
            workers = ex.workers()
            if workers:
                st.dataframe(
                    [
                        {"worker": w["name"] or w["address"], "threads": w["threads"], "memory GB": w["memory_gb"]}
                        for w in workers
                    ],
                    hide_index=True,
                )
            else:
                st.caption("No worker is connected yet: chunks wait until one joins.")
        else:
            st.caption("Chunks of networks (ensembles, permutations, CV folds) run here, one after another.")
        with st.form("gxapp_compute", border=False):
            address = st.text_input(
                "Dask scheduler",
                value=ex.spec,
                key="compute_address",
                placeholder="tcp://host:8786 or local:2",
                help="Spread chunks of networks over a Dask cluster: the address of a running scheduler, or local:N "
                "for N worker processes on this computer. Empty: this process. Results are identical either way.",
            )
            if st.form_submit_button("Use it"):
                if address.strip().startswith("processes:"):
                    # loky would re-run the page script in its workers (multiprocessing's spawn of __main__)
                    st.error("In the app, use local:N for N worker processes on this computer.")
                elif _busy():
                    st.warning("A job is running: change the compute setting when it has finished.")
                else:
                    try:
                        with st.spinner("Connecting…"):
                            execute.configure(address or None)
                        state["error"] = None
                        st.rerun()
                    except GxError as exc:
                        st.error(str(exc))

"""Background jobs in the UI: one process-wide manager, a live progress panel
with Cancel, and a one-shot notice when a job ends."""

from __future__ import annotations

import streamlit as st

from gxapp import cache, jobs
from gxapp.analyses import register_jobs


@st.cache_resource
def manager() -> jobs.JobManager:
    """One manager for the server process: jobs outlive page switches and reloads."""
    m = jobs.manager()
    register_jobs(m)
    return m


def start(spec: jobs.JobSpec, store_kind: str, job_key: str, result_key: str) -> bool:
    """Show the cached result of ``spec`` if there is one (returns True), else start it in the background."""
    if cache.Store(store_kind).exists(spec.key):
        st.session_state[result_key] = spec.key
        return True
    st.session_state[job_key] = manager().submit(spec).id
    return False


def _fmt_seconds(s) -> str:
    if s is None:
        return "estimating…"
    s = int(round(s))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


@st.fragment(run_every=1.0)
def panel(job_id: str, job_key: str, result_key: str, prefix: str, verb: str, partial=None) -> None:
    """Progress bar, time left and Cancel for a running job; when it ends, store
    its result key in ``st.session_state[result_key]`` and rerun the page. ``partial(obj)``: draws
    the latest partial result the job published (gxapp.progress.publish) while it runs."""
    job = manager().get(job_id)
    if job is None:
        st.session_state.pop(job_key, None)
        return
    snap = job.snapshot()
    if not job.done:
        st.progress(snap["fraction"], text=f"{snap['label']} — {snap['message'] or snap['state']}")
        c1, c2 = st.columns([3, 1])
        c1.caption(
            f"elapsed {_fmt_seconds(snap['elapsed'])} · left {_fmt_seconds(snap['eta'])} · "
            "you can switch pages: the job keeps running"
        )
        if c2.button("Cancel", key=f"cancel_{job_id}", help="Stops the job; nothing half-written is kept."):
            job.cancel()
        so_far = job.latest()
        if partial is not None and so_far is not None:
            partial(so_far)
        return
    st.session_state.pop(job_key, None)
    if job.state == jobs.DONE:
        st.session_state[result_key] = job.result
        notice = ("success", f"{verb} finished in {_fmt_seconds(snap['elapsed'])}.")
    elif job.state == jobs.CANCELLED:
        notice = ("warning", f"{verb} was cancelled; nothing was stored.")
    else:
        notice = ("error", f"{verb} failed: {job.error}")
    st.session_state[f"{prefix}_notice"] = notice
    st.rerun()


def show_notice(prefix: str) -> None:
    notice = st.session_state.pop(f"{prefix}_notice", None)
    if notice:
        getattr(st, notice[0])(notice[1])


def others(kind: str, exclude=None) -> None:
    active = [j for j in manager().jobs(kind) if not j.done and j.id != exclude]
    if active:
        st.caption(
            f"{len(active)} other {kind} job(s) running on this server: " + ", ".join(j.spec.label for j in active)
        )

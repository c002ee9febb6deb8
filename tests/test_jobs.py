import threading
import time

import pytest

from gxapp.errors import GxError
from gxapp.jobs import CANCELLED, DONE, FAILED, JobManager, JobSpec
from gxapp.progress import check_cancel


def _counting_runner(spec, progress, cancel):
    n = spec.params["steps"]
    for i in range(n):
        check_cancel(cancel)
        time.sleep(spec.params.get("sleep", 0.01))
        progress((i + 1) / n, f"step {i + 1}/{n}")
    return spec.params.get("value", 42)


def _manager():
    m = JobManager(max_running=1)
    m.register("count", _counting_runner)
    m.register("boom", lambda s, p, c: (_ for _ in ()).throw(GxError("bad parameter x")))
    m.register("crash", lambda s, p, c: 1 / 0)
    return m


def test_job_runs_in_background_and_reports_progress():
    m = _manager()
    job = m.submit(JobSpec("count", "k1", {"steps": 20}))
    assert threading.current_thread().name == "MainThread"
    m.wait(job, timeout=10)
    assert job.state == DONE and job.result == 42 and job.fraction == 1.0
    assert job.snapshot()["message"] == "step 20/20"


def test_same_key_shares_one_job_and_distinct_keys_do_not_mix():
    m = _manager()
    a = m.submit(JobSpec("count", "same", {"steps": 30, "value": 1}))
    b = m.submit(JobSpec("count", "same", {"steps": 30, "value": 1}))
    c = m.submit(JobSpec("count", "other", {"steps": 3, "value": 2}))
    assert a is b and a is not c
    m.wait(a, 10), m.wait(c, 10)
    assert (a.result, c.result) == (1, 2)


def test_cancel_stops_a_running_job():
    m = _manager()
    job = m.submit(JobSpec("count", "slow", {"steps": 1000, "sleep": 0.01}))
    while job.fraction == 0:
        time.sleep(0.01)
    job.cancel()
    m.wait(job, 10)
    assert job.state == CANCELLED and job.result is None


def test_errors_become_messages_not_crashes():
    m = _manager()
    j1 = m.wait(m.submit(JobSpec("boom", "b", {})), 10)
    j2 = m.wait(m.submit(JobSpec("crash", "c", {})), 10)
    assert j1.state == FAILED and j1.error == "bad parameter x"
    assert j2.state == FAILED and "ZeroDivisionError" in j2.error
    with pytest.raises(GxError, match="no runner"):
        m.submit(JobSpec("nope", "n", {}))


def test_eta_is_extrapolated_while_running():
    m = _manager()
    job = m.submit(JobSpec("count", "eta", {"steps": 50, "sleep": 0.02}))
    while job.fraction < 0.2:
        time.sleep(0.01)
    eta = job.eta()
    assert eta is not None and 0 < eta < 10
    m.wait(job, 10)
    assert job.eta() is None


def test_partial_results_reach_the_job_through_sub_progress():
    """Work publishes partial results through its progress callback (gxapp.progress.publish),
    also from a sub-task's mapped progress; the job keeps the latest for the UI; a plain
    callback ignores them."""
    from gxapp.progress import publish, sub_progress

    def runner(spec, progress, cancel):
        child = sub_progress(progress, 0.5, 1.0)
        for i in range(3):
            publish(child, {"sizes done": i + 1})
            time.sleep(0.05)
        return "ok"

    m = JobManager(max_running=1)
    m.register("partial", runner)
    job = m.submit(JobSpec("partial", "p1", {}))
    assert job.latest() in (None, {"sizes done": 1}, {"sizes done": 2}, {"sizes done": 3})
    m.wait(job, timeout=10)
    assert job.state == DONE and job.latest() == {"sizes done": 3}
    publish(lambda f, msg="": None, {"ignored": True})  # no watcher: nothing happens
    publish(None, {"ignored": True})

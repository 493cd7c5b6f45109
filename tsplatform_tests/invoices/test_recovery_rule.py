"""The rule that says which open batch is owed one more run (``tsplatform.ingest.recovery``); the
daemon scenarios in ``reliability/`` run it against real killed runs."""

from tsplatform.ingest.recovery import MAX_RUNS_PER_BATCH, run_owed


def test_a_batch_whose_runs_all_ended_is_owed_a_run_named_by_its_newest():
    assert run_owed("b", [("newest", True), ("older", True)], None) == "newest"
    assert run_owed("b", [("newest", True)], "claimer") == "newest"


def test_a_batch_with_a_run_still_going_or_never_asked_for_is_not_owed():
    assert run_owed("b", [("newest", False), ("older", True)], "claimer") is None
    assert run_owed("b", [], None) is None  # waiting: its first run request does it


def test_a_processing_batch_no_known_run_belongs_to_is_owed_under_its_claimers_id():
    assert run_owed("b", [], "claimer") == "claimer"  # the instance's storage was reset


def test_after_the_limit_of_runs_a_person_looks_and_the_log_says_so():
    said = []
    runs = [(f"r{i}", True) for i in range(MAX_RUNS_PER_BATCH)]
    assert run_owed("b", runs, None, said.append) is None
    assert said == [f"batch b: {MAX_RUNS_PER_BATCH} runs ended without completing it; not asking again by itself"]
    assert run_owed("b", runs[:-1], None, said.append) == "r0"

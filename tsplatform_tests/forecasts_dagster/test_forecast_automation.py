"""The daily aggregate follows every good upload, even after a failed one (a missing partition)."""

import dagster as dg

from tsplatform.defs.forecasts.assets import FOLLOWS_EVERY_GOOD_UPLOAD, daily_category_sales

batches = dg.DynamicPartitionsDefinition(name="upload_batches")


@dg.asset(key="invoice_data", partitions_def=batches)
def invoice_data() -> None:
    return None


def aggregate_with(condition: dg.AutomationCondition) -> dg.AssetsDefinition:
    @dg.asset(key="daily_category_sales", deps=[invoice_data], automation_condition=condition)
    def aggregate() -> None:
        return None

    return aggregate


def requested_after_a_failed_batch(condition: dg.AutomationCondition, instance: dg.DagsterInstance) -> int:
    """b1 good, b2 failed (its partition never materialised), then b3 good: is the aggregate requested?"""
    assets = [invoice_data, aggregate_with(condition)]
    start = dg.evaluate_automation_conditions(defs=assets, instance=instance)  # the sensor's first tick
    instance.add_dynamic_partitions("upload_batches", ["b1"])
    assert dg.materialize([invoice_data], partition_key="b1", instance=instance).success
    first = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=start.cursor)
    assert first.total_requested == 1  # the first good upload
    assert dg.materialize(assets, selection=["daily_category_sales"], instance=instance).success
    handled = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=first.cursor)
    instance.add_dynamic_partitions("upload_batches", ["b2", "b3"])  # b2's run failed: stays missing
    assert dg.materialize([invoice_data], partition_key="b3", instance=instance).success
    after = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=handled.cursor)
    return after.total_requested


def test_a_failed_batch_does_not_hold_back_the_aggregate(instance):
    assert requested_after_a_failed_batch(FOLLOWS_EVERY_GOOD_UPLOAD, instance) == 1


def test_plain_eager_would_wait_for_the_failed_batch_forever(instance):
    """The old condition: the missing partition of the failed batch blocks every later upload."""
    assert requested_after_a_failed_batch(dg.AutomationCondition.eager(), instance) == 0


def test_the_condition_still_waits_for_upstream_runs_in_progress():
    condition = daily_category_sales.automation_conditions_by_key[dg.AssetKey("daily_category_sales")]
    labels = [operand.get_label() for operand in condition.operands if hasattr(operand, "get_label")]
    names = {getattr(getattr(operand, "operand", None), "label", None) for operand in condition.operands}
    assert "any_deps_in_progress" in names and "any_deps_missing" not in names, (labels, names)
    assert len(condition.operands) == len(dg.AutomationCondition.eager().operands) - 1


def test_the_report_waits_while_a_category_fails_the_blocking_plausibility_check(instance):
    from tsplatform.defs.forecasts.assets import REPORT_CONDITION

    categories = dg.DynamicPartitionsDefinition(name="categories")
    plausible = {"passed": True}

    @dg.asset(key="forecast_data", partitions_def=categories,
              check_specs=[dg.AssetCheckSpec("forecasts_are_plausible", asset="forecast_data", blocking=True)])
    def forecasts():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(passed=plausible["passed"])

    @dg.asset(key="forecast_report", deps=[forecasts], automation_condition=REPORT_CONDITION)
    def report() -> None:
        return None

    def requested(previous):
        result = dg.evaluate_automation_conditions(defs=[forecasts, report], instance=instance, cursor=previous.cursor)
        return result, result.get_num_requested(report.key)

    instance.add_dynamic_partitions("categories", ["a", "b"])
    start = dg.evaluate_automation_conditions(defs=[forecasts, report], instance=instance)
    assert dg.materialize([forecasts], partition_key="a", instance=instance).success
    passed, count = requested(start)
    assert count == 1
    plausible["passed"] = False
    assert not dg.materialize([forecasts], partition_key="b", instance=instance, raise_on_error=False).success
    failed, count = requested(passed)
    assert count == 0
    plausible["passed"] = True
    assert dg.materialize([forecasts], partition_key="b", instance=instance).success
    assert requested(failed)[1] == 1

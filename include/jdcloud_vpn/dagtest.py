"""Make ``dag.test()`` run DAG-level callbacks the way the DAG processor does: with the parsed DAG.

Airflow 3.3.2's ``dag.test()`` hands DAG callbacks its *serialized* DAG. Building their context then fails for
any DAG with typed Params (``ParamValidationError`` out of ``dag.test()`` itself, since serialized Params are not
SDK Params), and a notifier cannot render its templates (no template env; apache/airflow#64649). The DAG
processor, which runs these callbacks in a deployment, uses the DAG parsed from its file; so does this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def parsed_dag_callbacks() -> Iterator[None]:
    """Within the block, ``dag.test()`` runs the DAG's success/failure callbacks with the DAG it was called on."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

    parsed: dict[str, DAG] = {}
    original_test, original_execute = DAG.test, DagRun.execute_dag_callbacks

    def test(self: DAG, *args: Any, **kwargs: Any) -> Any:
        parsed[self.dag_id] = self
        return original_test(self, *args, **kwargs)

    def execute_dag_callbacks(self: DagRun, dag: Any, *args: Any, **kwargs: Any) -> None:
        return original_execute(self, parsed.get(dag.dag_id, dag), *args, **kwargs)

    DAG.test, DagRun.execute_dag_callbacks = test, execute_dag_callbacks
    try:
        yield
    finally:
        DAG.test, DagRun.execute_dag_callbacks = original_test, original_execute

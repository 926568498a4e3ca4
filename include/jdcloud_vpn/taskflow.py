"""TaskFlow with typed results: the one place where XCom JSON becomes a model and a model becomes JSON."""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk.bases.decorator import task_decorator_factory
from airflow.sdk.exceptions import AirflowFailException
from pydantic import BaseModel, TypeAdapter

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.links.console import JDCloudConsoleLink
from include.jdcloud_vpn.links import RunReportLink

JDCLOUD_CONN_ID = "jdcloud_default"


def jdcloud_hook() -> JDCloudHook:
    """The hook of every VPN task (connection ``jdcloud_default``)."""
    return JDCloudHook(JDCLOUD_CONN_ID)


def _has_model(hint: Any) -> bool:
    """Whether a type hint is, or contains, a pydantic model (``Model``, ``list[Model]``, ``Model | None``)."""
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return True
    return any(_has_model(arg) for arg in typing.get_args(hint))


def _allows_none(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


class VpnTaskOperator(_PythonDecoratedOperator):
    """The operator of every ``typed_task``: a TaskFlow ``@task`` with the project's extra links.

    Airflow 3.3 computes an operator's extra links in the worker when the task ends (and the UI reads the
    stored URL), for links declared on the operator *class*; a class is also what a mapped task keeps.
    Each link gives ``""`` where it does not apply: the console link needs ``jdcloud_resource`` (a key of
    ``airflow_provider_jdcloud.console_urls.CONSOLE_URLS``), the report link a ``ReportFiles`` result.

    :param jdcloud_resource: the kind of resource the task's result describes, for its console link.
    """

    operator_extra_links = (JDCloudConsoleLink(), RunReportLink())

    def __init__(self, *, jdcloud_resource: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jdcloud_resource = jdcloud_resource


def typed_task(**task_kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """``@task(**task_kwargs)`` for a function typed with pydantic models.

    Each argument annotated with a model (or a list of them) arrives as XCom JSON and is validated into
    the model; a missing one (the upstream step did not succeed, and this task runs anyway) fails the
    task at once, naming the argument. A returned model goes to XCom as plain JSON. The task's operator is
    :class:`VpnTaskOperator` (``jdcloud_resource=...`` gives it a console link).
    """

    def decorate(func: Callable[..., Any]) -> Any:
        signature = inspect.signature(func)
        hints = typing.get_type_hints(func)
        inputs = {name: TypeAdapter(hints[name]) for name in signature.parameters if _has_model(hints.get(name))}
        nullable = {name for name in inputs if _allows_none(hints[name])}
        output = TypeAdapter(hints["return"]) if _has_model(hints.get("return")) else None

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            for name, adapter in inputs.items():
                if name not in bound.arguments:
                    continue
                value = bound.arguments[name]
                if value is None and name not in nullable:
                    raise AirflowFailException(f"{name} is missing: the step that produces it did not succeed")
                bound.arguments[name] = adapter.validate_python(value)
            result = func(*bound.args, **bound.kwargs)
            return output.dump_python(result, mode="json") if output else result

        return task_decorator_factory(
            python_callable=run,
            multiple_outputs=task_kwargs.pop("multiple_outputs", None),
            decorated_operator_class=VpnTaskOperator,
            **task_kwargs,
        )

    return decorate

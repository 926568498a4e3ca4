"""The real Airflow 3.3 components and the JD Cloud API emulator on loopback, as one local stack.

``stack.RealAirflow`` starts and stops them and wraps the REST API (trigger a run, wait for it, read task
instances and XComs); the real-executor tests, the benchmark and ``make airflow`` (``python -m
include.airflow_stack``) use it.
"""

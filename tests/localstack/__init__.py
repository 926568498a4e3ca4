"""`make airflow` (`python -m include.airflow_stack`) as a user runs it: the UI in a browser, Ctrl-C, restart."""

"""End-to-end tests against real Airflow components (api-server, scheduler with LocalExecutor, dag-processor,
triggerer) in a throw-away AIRFLOW_HOME, with the JD Cloud API emulator as a subprocess."""

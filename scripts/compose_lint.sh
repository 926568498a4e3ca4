#!/usr/bin/env bash
# Validate docker-compose.yaml without a Docker engine (`docker-compose config`, static Compose v2 binary):
# the default stack and the emulator profile, each with .env.example and with no env file at all (.env is
# optional). Any warning (an unset variable, ...) is an error. The default stack must not contain the emulator
# services, the emulator profile must; compose itself refuses a default service depending on a profile's one.
# Usage: COMPOSE=.venv/compose/docker-compose scripts/compose_lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${COMPOSE:?set COMPOSE to the docker-compose binary}"
EMULATOR_SERVICES="jdcloud-emulator jdcloud-seed"
err=$(mktemp)
trap 'rm -f "$err"' EXIT

check() {  # check <env file or "none"> <profile or "default">
    local env_file=$1 profile=$2 args=(--project-directory . -f docker-compose.yaml)
    if [[ $env_file == none ]]; then
        args+=(--env-file /dev/null)
        export ENV_FILE_PATH=.env.absent-on-purpose
    else
        args+=(--env-file "$env_file")
        export ENV_FILE_PATH=$env_file
    fi
    [[ $profile == default ]] || args+=(--profile "$profile")
    if ! "$COMPOSE" "${args[@]}" config --quiet 2> "$err" || [[ -s $err ]]; then
        cat "$err" >&2
        echo "compose-lint: env file $env_file, profile $profile: FAILED (warnings count as errors)" >&2
        exit 1
    fi
    local services
    services=$("$COMPOSE" "${args[@]}" config --services 2> /dev/null | sort | tr '\n' ' ')
    for service in $EMULATOR_SERVICES; do
        if [[ $profile == default && " $services" == *" $service "* ]]; then
            echo "compose-lint: $service is in the default stack; it belongs to the emulator profile" >&2
            exit 1
        elif [[ $profile == emulator && " $services" != *" $service "* ]]; then
            echo "compose-lint: $service is missing from the emulator profile" >&2
            exit 1
        fi
    done
    echo "compose-lint: env file $env_file, profile $profile: ok ($services)"
}

for env_file in .env.example none; do
    for profile in default emulator; do
        check "$env_file" "$profile"
    done
done

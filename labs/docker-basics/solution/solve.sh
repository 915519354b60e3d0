#!/usr/bin/env bash
# Reference solution of docker-basics, run in the session's workspace: write the Dockerfile,
# build the image, copy the model into the lab's volume, run the container, ask for a price.
set -euo pipefail

. ./lab.env   # IMAGE, CONTAINER, NETWORK, VOLUME, BASE_IMAGE, LABELS (written by the lab)

cp "$(dirname "${BASH_SOURCE[0]}")/Dockerfile" Dockerfile

# $LABELS unquoted on purpose: it holds several `--label key=value` words.
# shellcheck disable=SC2086
docker build --quiet --build-arg BASE_IMAGE="$BASE_IMAGE" $LABELS -t "$IMAGE" .

# The volume is empty and owned by root: copy the model in as root, in a throwaway container.
docker run --rm --user root -v "$VOLUME:/models" -v "$PWD/model:/src:ro" "$IMAGE" \
    cp /src/model.json /models/model.json

docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
# 127.0.0.1::8000 is any free port on the loopback address (the README uses 8000:8000).
# shellcheck disable=SC2086
docker run -d --name "$CONTAINER" --network "$NETWORK" -p 127.0.0.1::8000 \
    -v "$VOLUME:/models:ro" -e MODEL_NAME=house-price $LABELS "$IMAGE"

port=$(docker port "$CONTAINER" 8000/tcp | head -n 1 | sed 's/.*://')
for _ in $(seq 1 60); do
    if [ "$(docker inspect -f '{{.State.Health.Status}}' "$CONTAINER")" = healthy ]; then
        break
    fi
    sleep 1
done
"${LABRUN_PYTHON:-python3}" - "$port" <<'PY'
import json, sys, urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}/predict?rooms=3&area_m2=72&age_years=15"
no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with no_proxy.open(url, timeout=5) as answer:
    print(json.load(answer))
PY

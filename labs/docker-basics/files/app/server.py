"""A tiny model server: the app you containerise in the docker-basics lab.

Standard library only, so any Python 3.9+ image runs it with nothing to install.

    GET  /health                  {"status": "ok", "model_name": ..., "model_loaded": ...}
    POST /predict  {"rooms": 3, "area_m2": 72, "age_years": 15}
    GET  /predict?rooms=3&area_m2=72&age_years=15
                                  {"prediction": 312.7, "unit": ..., "model_version": ...}

Configuration, from the environment:

    MODEL_NAME   the name this service announces (default "unnamed-model")
    MODEL_PATH   the model file to load (default /models/model.json: a mounted volume)
    PORT         the port to listen on (default 8000)
    HOST         the address to listen on (default 0.0.0.0: every interface of the
                 container, which is what a published port reaches)

The model is loaded on the first request that needs it and reloaded when its file changes,
so the server starts even before the model is in place (/predict answers 503 until then).

Run it without Docker: HOST=127.0.0.1 MODEL_PATH=model/model.json python3 app/server.py
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

MODEL_NAME = os.environ.get("MODEL_NAME", "unnamed-model")
MODEL_PATH = os.environ.get("MODEL_PATH", "/models/model.json")
PORT = int(os.environ.get("PORT", "8000"))
HOST = os.environ.get("HOST", "0.0.0.0")


class Model:
    """A linear model read from a JSON file: prediction = intercept + sum(weight * feature)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.mtime: float | None = None
        self.spec: dict[str, Any] | None = None
        self.problem = "not loaded yet"

    def current(self) -> dict[str, Any] | None:
        """The model as its file is now, or None (and `problem` says why)."""
        with self.lock:
            try:
                mtime = os.stat(self.path).st_mtime
                if mtime != self.mtime:
                    with open(self.path, encoding="utf-8") as f:
                        spec = json.load(f)
                    if not isinstance(spec.get("weights"), dict):
                        raise ValueError("no 'weights' object in the model file")
                    self.spec, self.mtime = spec, mtime
            except (OSError, ValueError) as exc:
                self.spec, self.mtime = None, None
                self.problem = f"{self.path}: {exc.strerror if isinstance(exc, OSError) else exc}"
            return self.spec

    def predict(self, features: dict[str, Any]) -> dict[str, Any]:
        spec = self.spec
        assert spec is not None
        missing = [name for name in spec["weights"] if name not in features]
        if missing:
            raise ValueError(f"missing feature(s): {', '.join(missing)}")
        total = float(spec.get("intercept", 0.0))
        for name, weight in spec["weights"].items():
            total += float(weight) * float(features[name])
        return {
            "model_name": MODEL_NAME,
            "model_version": spec.get("version"),
            "prediction": round(total, 2),
            "unit": spec.get("unit", ""),
        }


MODEL = Model(MODEL_PATH)


class Handler(BaseHTTPRequestHandler):
    server_version = "model-server/1.0"

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/health":
            self.health()
        elif url.path == "/predict":
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            self.predict(query)
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such path: {url.path}"})

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/predict":
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such path: {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self.reply(HTTPStatus.BAD_REQUEST, {"error": "the body is not JSON"})
            return
        if not isinstance(body, dict):
            self.reply(HTTPStatus.BAD_REQUEST, {"error": "send a JSON object of features"})
            return
        self.predict(body)

    def health(self) -> None:
        spec = MODEL.current()
        self.reply(
            HTTPStatus.OK,
            {
                "status": "ok",
                "model_name": MODEL_NAME,
                "model_loaded": spec is not None,
                "model_version": spec.get("version") if spec else None,
            },
        )

    def predict(self, features: dict[str, Any]) -> None:
        if MODEL.current() is None:
            message = f"model not loaded: {MODEL.problem}"
            self.reply(HTTPStatus.SERVICE_UNAVAILABLE, {"error": message})
            return
        try:
            self.reply(HTTPStatus.OK, MODEL.predict(features))
        except ValueError as exc:
            self.reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    def reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.path.startswith("/health"):  # health checks would drown the log
            sys.stdout.write(f"{self.address_string()} {format % args}\n")
            sys.stdout.flush()


def main() -> None:
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    # `docker stop` sends SIGTERM. As PID 1, Python ignores it unless it has a handler.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{MODEL_NAME}: listening on {HOST}:{PORT}, model file {MODEL_PATH}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()

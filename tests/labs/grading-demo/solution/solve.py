"""Reference solution of grading-demo, run in the workspace by `labrun lab test`."""

import json
import os
from pathlib import Path

Path("hello.txt").write_text("hello, world\n")
config = {"name": "demo", "port": 8000, "replicas": 2, "image": "demo:1"}
Path("config.json").write_text(json.dumps(config) + "\n")
Path(f"deployed-{os.environ['LABRUN_SESSION']}.txt").write_text("deployed\n")
Path("report.json").write_text(json.dumps({"accuracy": 0.9}) + "\n")

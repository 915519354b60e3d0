"""Exit 0 when the model server answers /health, 1 otherwise: a HEALTHCHECK command.

Slim Python images have no curl or wget, but they have Python:

    HEALTHCHECK CMD ["python", "/app/healthcheck.py"]
"""

import os
import sys
import urllib.request

URL = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health"

try:
    with urllib.request.urlopen(URL, timeout=3) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"{URL}: {exc}", file=sys.stderr)
    sys.exit(1)

"""`labrun ui`: a live lab page in the browser, beside the learner's terminal.

- ``labpage``: what the page shows and does, as data (the state, check, hint, extend, stop);
- ``app``: the HTTP routes over it (Starlette), behind the session's random token;
- ``server``: a free port on 127.0.0.1, the browser, and the server's end (with the session,
  or on Ctrl-C);
- ``static/``: the page's script (no build step: plain JavaScript, ``fetch`` and polling).

Only `labrun ui` imports this package, so `labrun --help` never loads the web stack.
"""

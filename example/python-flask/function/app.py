"""A Flask app in the original lmnop's layout: `entrypoint`, `requirements.txt` and
`initialize` at the root of the repository, the code in `function/`."""
import os
import pathlib

from flask import Flask

app = Flask(__name__)
# Written by `initialize` at build time.
BUILT_WITH = pathlib.Path("built-with.txt").read_text().strip()


@app.get("/")
def index():
    return f"{os.environ.get('greeting', 'Hello')} from Flask, {BUILT_WITH}\n", {
        "Content-Type": "text/plain; charset=utf-8"
    }


@app.get("/secrets")
def secrets():
    """The names of the secrets mounted for this function (never their values)."""
    folder = pathlib.Path("/var/openfaas/secrets")
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return "\n".join(names) + "\n", {"Content-Type": "text/plain; charset=utf-8"}

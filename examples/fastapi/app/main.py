"""The shipit example app: a production-shaped FastAPI service run by gunicorn with uvicorn workers.

    gunicorn app.main:app --worker-class uvicorn.workers.UvicornWorker --workers 2 --bind 0.0.0.0:8000

Written for what Debian 12 ships (fastapi 0.92, uvicorn 0.17, gunicorn 20.1, Python 3.11).

Probes (see README.md):
  GET /healthz  liveness: the process is alive and its event loop answers.
  GET /readyz   readiness: its dependency (the data file) is readable; names the release and version.
  GET /         a little async work; returns pid, version and release.

Fault injection, so tests can derive a bad release by adding one file: app/FAULT containing
  never-ready      /readyz always answers 503 (checked per request; /healthz stays 200)
  crash-on-import  importing app.main raises (gunicorn's workers fail to boot; the master exits with code 3)
and a slow start from the environment: STARTUP_DELAY=<seconds> makes each worker's startup (ASGI lifespan) take
that long before it serves, as an app that warms a cache or opens a pool does.
"""
import asyncio
import json
import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse

APP_DIR = Path(__file__).resolve().parent
FAULT_FILE = APP_DIR / "FAULT"
DATA_FILE = APP_DIR / "data.json"


def read_fault() -> str:
    try:
        return FAULT_FILE.read_text().strip()
    except FileNotFoundError:
        return ""


if read_fault() == "crash-on-import":
    raise RuntimeError("app/FAULT says crash-on-import: this release is broken on purpose")

# The release is the directory holding the `app` package, resolved through symlinks such as
# /srv/<app>/current -> releases/<id>: the code this process imported, whatever `current` points at later.
RELEASE = APP_DIR.parent.name
VERSION = (APP_DIR / "VERSION").read_text().strip()

app = FastAPI(title="shipit example", version=VERSION)


@app.on_event("startup")
async def startup():
    await asyncio.sleep(float(os.environ.get("STARTUP_DELAY", "0")))


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.get("/readyz")
async def readyz():
    if read_fault() == "never-ready":
        return JSONResponse(status_code=503, content={"status": "not-ready", "reason": "app/FAULT says never-ready"})
    try:
        json.loads(DATA_FILE.read_text())
    except (OSError, ValueError) as error:
        return JSONResponse(status_code=503, content={"status": "not-ready", "reason": f"data file: {error}"})
    return {"status": "ready", "release": RELEASE, "version": VERSION}


@app.get("/")
async def index():
    await asyncio.sleep(0.005)  # stands in for an awaited database or API call
    return {"pid": os.getpid(), "version": VERSION, "release": RELEASE}

"""A small FastAPI service in two versions, for cmd/bodytap's replay and
mock tests (replay_fastapi_test.go).

APP_VERSION=1 (the default) is the version whose traffic is captured.
APP_VERSION=2 changes one field (a user's plan) and adds noise: a
timestamp and a generated ID in the user, a generated ID in each item and
an X-Request-ID header on every response.

Run it as uvicorn does: python3 -m uvicorn app:app --fd 3
"""
import datetime
import os
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

V2 = os.environ.get("APP_VERSION", "1") == "2"

app = FastAPI()


@app.middleware("http")
async def request_id(request: Request, call_next):
    response = await call_next(request)
    if V2:
        response.headers["X-Request-ID"] = str(uuid.uuid4())
    return response


@app.get("/users/{user_id}")
def user(user_id: int):
    u = {"id": user_id, "name": "Ada", "plan": "free", "tags": ["admin", "beta"]}
    if V2:
        u["plan"] = "pro"
        u["updated_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        u["request_id"] = uuid.uuid4().hex
    return u


@app.get("/items")
def items(limit: int = 10):
    out = []
    for i in range(min(limit, 3)):
        item = {"id": i + 1, "name": f"item {i + 1}", "price": 9.5 * (i + 1)}
        if V2:
            item["trace"] = uuid.uuid4().hex
        out.append(item)
    return {"items": out, "count": len(out)}


@app.get("/health", response_class=PlainTextResponse)
def health():
    return "ok\nall systems go\n"


@app.post("/orders", status_code=201)
async def orders(request: Request):
    body = await request.json()
    return {"order": 1001, "item": body.get("item")}

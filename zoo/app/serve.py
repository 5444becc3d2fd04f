"""``zoo serve``: a saved tabular run's model behind HTTP (FastAPI, run by uvicorn).

``POST /predict`` takes raw rows, as JSON records (a list of ``{column: value}`` objects) or
as CSV text with a header, checks them against the run's columns, and answers predictions
in the data set's own terms (class labels, and each class's probability for a classifier).
``GET /schema`` says which columns a row has and of which kind; ``GET /health`` answers
once the model is loaded.

Rows are encoded exactly as ``zoo predict`` encodes a file (the plugin that reads
prediction inputs reads them), so missing values and unseen categories are taken the same
lenient way. Requests that arrive together are predicted together: a micro-batcher stacks
the rows of every request waiting within ``batch_wait_ms`` of the first (up to
``max_batch_rows``) into one model call, on one worker thread that owns the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import math
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import IncompatibleError, ZooError, shown
from zoo.core.imports import import_extra
from zoo.core.schema import input_columns
from zoo.runs.files import strict

if TYPE_CHECKING:
    import numpy as np
    import uvicorn
    from fastapi import FastAPI, Request

    from zoo.app.saved import SavedRun
    from zoo.catalog.registry import Registry


@dataclass(frozen=True)
class ServeOptions:
    """Where to listen and how requests are limited and batched."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_body_mb: float = 1.0  # a larger request body is refused (413)
    batch_wait_ms: float = 2.0  # how long the first request of a batch waits for company
    max_batch_rows: int = 1024  # rows per model call, at most (one larger request goes alone)


ONE_CALL_ROWS = 4096  # rows predicted in one compiled call; more go through run.predict


class RequestProblem(Exception):
    """A request the server refuses: its HTTP status and one line for ``detail``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# -- the run's columns and the rows a request holds ---------------------------------------


def serve_columns(run: SavedRun) -> list[dict[str, Any]]:
    """The raw columns a request row holds: ``name``, ``kind`` (numeric, categorical or
    date) and a categorical column's ``categories``.

    Raises:
        IncompatibleError: the run's model does not take table rows (images, say).
    """
    if run.data.get("input_kind", "tabular") != "tabular":
        raise IncompatibleError(
            f"zoo serve takes rows of named columns, but {run.path} holds a model of "
            f"{run.data.get('input_kind')} inputs; predict on them from Python (zoo.load_run)."
        )
    schema = run.schema
    features = schema.get("features") or input_columns(schema)
    return [{k: f[k] for k in ("name", "kind", "categories") if k in f} for f in features]


def parse_body(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """The records of a request body: JSON (a list of objects, or one object) or CSV.

    Raises:
        RequestProblem: an empty body, malformed JSON or CSV, an unsupported content type.
    """
    kind = content_type.split(";")[0].strip().lower()
    if not body.strip():
        raise RequestProblem(400, "The request body is empty; send JSON records or CSV rows.")
    if kind == "" or kind.endswith("json"):
        return _json_records(body)
    if kind in ("text/csv", "text/plain"):
        return _csv_records(body)
    raise RequestProblem(
        415, f"Unsupported Content-Type {shown(kind)}; send application/json records or text/csv."
    )


def _json_records(body: bytes) -> list[dict[str, Any]]:
    try:
        records = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        reason = getattr(exc, "msg", None) or "not UTF-8 text"
        raise RequestProblem(400, f"Malformed JSON{where}: {reason}.") from None
    records = [records] if isinstance(records, dict) else records
    if not isinstance(records, list) or not records:
        raise RequestProblem(
            400, "Expected a non-empty JSON list of records ({column: value} objects)."
        )
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise RequestProblem(
                422,
                f"Record {number} is a JSON {type(record).__name__}, not an object of "
                "column: value.",
            )
    return records


def _csv_records(body: bytes) -> list[dict[str, Any]]:
    try:
        lines = body.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise RequestProblem(400, "Malformed CSV: the body is not UTF-8 text.") from None
    try:
        rows = [row for row in csv.reader(lines) if row]
    except csv.Error as exc:
        raise RequestProblem(400, f"Malformed CSV: {exc}.") from None
    if len(rows) < 2:
        raise RequestProblem(400, "The CSV body needs a header row and at least one data row.")
    header = [name.strip() for name in rows[0]]
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise RequestProblem(
                400,
                f"Malformed CSV: line {number} has {len(row)} fields, the header {len(header)}.",
            )
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def checked_rows(
    records: list[dict[str, Any]], columns: list[dict[str, Any]], target: str | None
) -> list[list[str]]:
    """Each record's cells in column order, as CSV text (an empty cell: missing).

    Raises:
        RequestProblem: an unknown or missing column, or a value of the wrong type (422).
    """
    names = [column["name"] for column in columns]
    known = {*names, *([target] if target else [])}  # the target, if sent, is ignored
    rows = []
    for number, record in enumerate(records, 1):
        unknown = [key for key in record if key not in known]
        if unknown:
            raise RequestProblem(
                422,
                f"Record {number} has an unknown column {shown(unknown[0])}; the columns are "
                f"{', '.join(names)} (GET /schema).",
            )
        absent = [name for name in names if name not in record]
        if absent:
            raise RequestProblem(
                422,
                f"Record {number} lacks the column {shown(absent[0])}; send null (JSON) or an "
                "empty cell (CSV) for a missing value.",
            )
        rows.append([_cell(record[c["name"]], c, number) for c in columns])
    return rows


def _cell(value: Any, column: dict[str, Any], number: int) -> str:
    """One value as the CSV cell the prediction reader takes."""
    if value is None or value == "":
        return ""
    if column["kind"] != "numeric":
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        expected = "text or a number"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) or math.isnan(value):
            return "" if math.isnan(value) else repr(float(value))
        expected = "a finite number"
    else:
        with contextlib.suppress(ValueError, TypeError):
            if isinstance(value, str) and math.isfinite(float(value)):
                return value.strip()
        expected = "a number"
    raise RequestProblem(
        422,
        f"Record {number}: column {shown(column['name'])} takes {expected} (or null for a "
        f"missing value), not {json.dumps(value)[:40]}.",
    )


# -- prediction: rows encoded by the plugin that reads prediction inputs ------------------


class Predictor:
    """Encodes rows as ``zoo predict`` does and runs the model; used from one thread."""

    def __init__(self, run: SavedRun, registry: Registry, folder: Path) -> None:
        self.run, self.registry = run, registry
        self.columns = serve_columns(run)
        self.delimiter = str(run.schema.get("delimiter", ","))
        self.path = folder / "request.csv"  # the reader reads files; one private file
        run.model  # noqa: B018 - loaded (and checked) now, not on the first request

    def outputs(self, rows: list[list[str]]) -> np.ndarray:
        """Model outputs for rows of CSV cells in column order."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter, lineterminator="\n")
        writer.writerow([column["name"] for column in self.columns])
        writer.writerows(rows)
        self.path.write_text(buffer.getvalue(), encoding="utf-8")
        try:
            # The reader counts filled values on stderr, naming the private file: not news.
            with contextlib.redirect_stderr(io.StringIO()):
                x = self.run.read_inputs(self.registry, self.path)
        except ZooError as exc:
            raise RequestProblem(422, str(exc).replace(str(self.path), "the request")) from None
        if len(x) > ONE_CALL_ROWS:
            return self.run.predict(x)  # in batches sized by the model's memory
        # Keras's compiled prediction step, traced once: an eager call of the preparation
        # layers and the model costs 20 times as much on a few rows.
        import numpy as np

        return np.asarray(self.run.model.predict_on_batch(x))

    def answer(self, outputs: np.ndarray) -> dict[str, Any]:
        """Predictions as labels, and for a classifier each class's probability."""
        from zoo.app.saved import probability_columns

        answer: dict[str, Any] = {"predictions": self.run.labels(outputs)}
        names, probabilities = probability_columns(self.run, outputs)
        if names:
            classes = [name[2:] for name in names]  # p_LABEL
            answer["probabilities"] = [
                dict(zip(classes, row, strict=True)) for row in probabilities
            ]
        return strict(answer)


class MicroBatcher:
    """Stacks the rows of requests that arrive together into one model call.

    The first request waits up to ``wait_s`` for others (and every request that queued
    while the previous call ran joins at once), up to ``max_rows`` rows per call.
    """

    def __init__(self, predict: Callable[[list[list[str]]], Any], *, wait_s: float, max_rows: int):
        self.predict, self.wait_s, self.max_rows = predict, wait_s, max_rows
        self.queue: asyncio.Queue[tuple[list[list[str]], asyncio.Future[Any]]] = asyncio.Queue()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoo-serve-model")
        self.calls = self.rows = 0  # model calls and the rows they took (GET /health)

    async def outputs(self, rows: list[list[str]]) -> Any:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((rows, future))
        return await future

    async def run(self) -> None:
        """Serve the queue until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline, size = loop.time() + self.wait_s, len(batch[0][0])
            while size < self.max_rows:
                try:
                    item = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    if loop.time() >= deadline:
                        break
                    await asyncio.sleep(min(0.0005, deadline - loop.time()))
                    continue
                batch.append(item)
                size += len(item[0])
            await self._predict(loop, batch)

    async def _predict(self, loop: asyncio.AbstractEventLoop, batch: list[Any]) -> None:
        rows = [row for request, _ in batch for row in request]
        self.calls, self.rows = self.calls + 1, self.rows + len(rows)
        try:
            outputs = await loop.run_in_executor(self.worker, self.predict, rows)
        except Exception as exc:  # noqa: BLE001 - one request's rows: each answered alone
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            for item in batch:
                await self._predict(loop, [item])
            return
        start = 0
        for request, future in batch:
            _settle(future, value=outputs[start : start + len(request)])
            start += len(request)


def _settle(
    future: asyncio.Future[Any], *, value: Any = None, error: Exception | None = None
) -> None:
    """Answer a request's future (a request whose client left has none to answer)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


# -- the HTTP application and the server -------------------------------------------------


def create_app(run: SavedRun, registry: Registry, options: ServeOptions) -> FastAPI:
    """The FastAPI application serving ``run`` (its model loaded and warmed up now)."""
    fastapi = import_extra("fastapi", "zoo serve", "serve")
    folder = Path(tempfile.mkdtemp(prefix="zoo-serve-"))
    predictor = Predictor(run, registry, folder)
    predictor.outputs([[""] * len(predictor.columns)])  # the first call builds the graph
    batcher = MicroBatcher(
        predictor.outputs, wait_s=options.batch_wait_ms / 1000, max_rows=options.max_batch_rows
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(batcher.run())
        yield
        task.cancel()
        batcher.worker.shutdown(wait=True)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)

    app = fastapi.FastAPI(title=f"keras-zoo: {run.path.name}", lifespan=lifespan)
    _add_routes(app, predictor, batcher, limit=int(options.max_body_mb * 2**20))
    return app


def _add_routes(app: Any, predictor: Predictor, batcher: MicroBatcher, *, limit: int) -> None:
    from fastapi import Request
    from fastapi.responses import JSONResponse

    run = predictor.run
    target = run.schema.get("target") or run.data.get("target_name")

    @app.exception_handler(RequestProblem)
    async def refused(_: Request, problem: RequestProblem) -> JSONResponse:
        return JSONResponse({"detail": str(problem)}, status_code=problem.status)

    @app.exception_handler(Exception)
    async def failed(_: Request, exc: Exception) -> JSONResponse:
        detail = f"Prediction failed: {type(exc).__name__}: {str(exc)[:200]}"
        return JSONResponse({"detail": detail}, status_code=500)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        counts = {"model_calls": batcher.calls, "rows": batcher.rows}
        return {"status": "ok", "run": run.path.name, "task": run.data.get("task"), **counts}

    @app.get("/schema")
    async def schema() -> dict[str, Any]:
        return {
            "task": run.data.get("task"),
            "target": target,
            "columns": predictor.columns,
            "classes": run.schema.get("classes", []),
        }

    async def predict(request: Request) -> dict[str, Any]:
        body = await _body(request, limit)
        records = parse_body(body, request.headers.get("content-type", ""))
        outputs = await batcher.outputs(checked_rows(records, predictor.columns, target))
        return predictor.answer(outputs)

    # FastAPI reads the request parameter's class from its annotation, which this module's
    # postponed annotations leave as a name it would look up among the module's globals.
    predict.__annotations__["request"] = Request
    app.post("/predict")(predict)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to pass ``limit`` bytes."""
    too_large = RequestProblem(
        413,
        f"The request body is larger than the server's limit of {limit:,} bytes "
        "(--max-body-mb); send fewer rows per request.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def open_server(
    run: SavedRun, registry: Registry, options: ServeOptions
) -> tuple[uvicorn.Server, socket.socket]:
    """A uvicorn server for ``run`` and the socket it will listen on (bound now, so that a
    port in use is one line before the model loads; port 0 picks a free one).

    Raises:
        IncompatibleError: FastAPI or uvicorn is not installed, or the run is not tabular.
        ZooError: the address cannot be listened on.
    """
    uvicorn = import_extra("uvicorn", "zoo serve", "serve")
    import_extra("fastapi", "zoo serve", "serve")
    serve_columns(run)  # a run that cannot be served is refused before anything loads
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((options.host, options.port))
    except OSError as exc:
        sock.close()
        raise ZooError(
            f"Cannot listen on {options.host}:{options.port}: {exc.strerror or exc}; choose "
            "another --port or --host."
        ) from None
    app = create_app(run, registry, options)
    config = uvicorn.Config(app, log_level="info", access_log=False, timeout_graceful_shutdown=5)
    return uvicorn.Server(config), sock

"""Downloads (the grid's CSV export, job artifacts and weights, Compositor previews, renders
and zips of renders) and the Compositor's upload route (with progress in the browser)."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from flask import Flask, Response, jsonify, request, send_file, stream_with_context

from dashapp.compositor import actions
from dashapp.compositor.imaging import ImageRejected
from dashapp.compositor.storage import StorageError
from dashapp.compositor.upload_store import clean_name
from dashapp.data.catalog import CatalogError, DataUnavailable
from dashapp.data.exports import iter_xlsx
from dashapp.data.filters import GridRequestError
from dashapp.data.grid_service import iter_csv
from dashapp.data.links import parse_query
from dashapp.deps import Deps
from jobs import service as jobs_service
from jobs.follow import log_text

# The header the Compositor's upload script sends: a cross-site form cannot send one (a
# script would need a CORS preflight this app never answers), so no other site can post.
UPLOAD_HEADER = "X-Dashapp-Upload"


class ExportInterrupted(RuntimeError):
    """The database failed while an export was streaming; raised to abort the response."""


def install(server: Flask, deps: Deps) -> None:
    """Attach every download route under the app's prefix."""
    prefix = deps.settings.url_prefix

    def export_csv() -> Response:
        return export_response(deps, request.args)

    def export_xlsx() -> Response:
        return export_response(deps, request.args, "xlsx")

    server.add_url_rule(f"{prefix}export.csv", "dashapp_export_csv", export_csv)
    server.add_url_rule(f"{prefix}export.xlsx", "dashapp_export_xlsx", export_xlsx)
    install_job_routes(server, deps)
    install_compositor_routes(server, deps)


def install_compositor_routes(server: Flask, deps: Deps) -> None:
    """Previews and renders of a Compositor session; ids are checked, nothing else is served."""
    prefix = deps.settings.url_prefix

    def missing() -> Response:
        return Response("No such image.\n", 404, mimetype="text/plain")

    def preview(sid: str, image_id: str) -> Response:
        code = request.args.get("t", "000")
        match = re.fullmatch(r"([01])([01])(0|90|180|270)", code)
        found = (
            deps.upload_store.preview(
                sid,
                image_id,
                flip_h=match.group(1) == "1",
                flip_v=match.group(2) == "1",
                rot=int(match.group(3)),
            )
            if match
            else None
        )
        if found is None:
            return missing()
        return send_stored(found, max_age=7 * 24 * 3600)

    def rendered(sid: str, render_id: str) -> Response:
        if request.args.get("preview") == "1":
            small = deps.upload_store.render_preview(sid, render_id)
            if small is None:
                return missing()
            return send_stored(small, max_age=3600)
        found = deps.upload_store.render_file(sid, render_id)
        if found is None:
            return missing()
        name = "composite." + ("png" if found[1] == "image/png" else "jpg")
        download = request.args.get("download") == "1"
        return send_stored(found, as_attachment=download, download_name=name)

    def batch(sid: str, batch_id: str) -> Response:
        found = deps.upload_store.batch_file(sid, batch_id)
        if found is None:
            return missing()
        return send_stored(found, as_attachment=True, download_name="composites.zip")

    server.add_url_rule(
        f"{prefix}compositor/files/<sid>/batches/<batch_id>",
        "dashapp_batch",
        answers_storage_errors(batch),
    )
    server.add_url_rule(
        f"{prefix}compositor/upload/<sid>",
        "dashapp_compositor_upload",
        lambda sid: upload_response(deps, sid),
        methods=["POST"],
    )
    server.add_url_rule(
        f"{prefix}compositor/files/<sid>/<image_id>/preview",
        "dashapp_preview",
        answers_storage_errors(preview),
    )
    server.add_url_rule(
        f"{prefix}compositor/files/<sid>/renders/<render_id>",
        "dashapp_render",
        answers_storage_errors(rendered),
    )


def upload_response(deps: Deps, sid: str) -> Response:
    """One file from the Compositor's upload script (with progress), decoded and stored.

    The same limits, decode slots, quota and messages as an upload through the page's
    callback; the answer names the stored image, which the page's next action places.
    A refusal is the user's message (200: the request itself was fine).
    """
    if request.headers.get(UPLOAD_HEADER) != "1":
        return Response("Uploads come from the Compositor page.\n", 403, mimetype="text/plain")
    file = request.files.get("file")
    if file is None:
        return Response("No file in the upload.\n", 400, mimetype="text/plain")
    name = clean_name(file.filename, "file")
    with file.stream:  # a large upload is spooled to a temporary file: let it go now
        data = file.stream.read()
    try:
        info = actions.store_upload(deps.upload_store, sid, data, name)
    except (ImageRejected, StorageError) as exc:
        return jsonify({"rejected": f"{name}: {exc}"})
    return jsonify({"stored": info.id, "name": info.name})


def answers_storage_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """A view that answers the store's own words (a busy server, no database) with a 503."""

    @functools.wraps(view)
    def wrapped(**kwargs: str) -> Response:
        try:
            return view(**kwargs)
        except StorageError as exc:
            return Response(f"{exc}\n", 503, mimetype="text/plain")

    return wrapped


def send_stored(found: tuple[Path | BinaryIO, str], **options: Any) -> Response:
    """Send a stored file: a path on this node's disk, or a stream (its length given)."""
    file, mime = found
    if isinstance(file, Path):
        return send_file(file, mimetype=mime, **options)
    size = file.seek(0, io.SEEK_END)
    file.seek(0)
    resp = send_file(file, mimetype=mime, conditional=False, etag=False, **options)
    resp.content_length = size
    return resp


def install_job_routes(server: Flask, deps: Deps) -> None:
    """Job artifacts by id, all of them as a zip, the trained weights and the whole log."""
    prefix = deps.settings.url_prefix

    def artifact(job_id: str, art_id: int) -> Response:
        arts = [a for a in deps.job_store.artifacts(job_id) if a["id"] == art_id]
        data = deps.job_store.artifact_bytes(arts[0]) if arts else None
        if data is None:
            return Response("No such artifact.\n", 404, mimetype="text/plain")
        resp = Response(data, mimetype="image/png")
        resp.cache_control.max_age = 3600
        return resp

    def artifacts_zip(job_id: str) -> Response:
        data = jobs_service.artifacts_zip(deps.job_store, job_id)
        if data is None:
            return Response("No such job.\n", 404, mimetype="text/plain")
        return Response(
            data,
            mimetype="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="job-{job_id[:8]}-artifacts.zip"'
            },
        )

    def weights(job_id: str) -> Response:
        job = deps.job_store.get(job_id)
        data = deps.job_store.file(job_id, "model.pt") if job and job.weights_path else None
        if data is None:
            return Response("This job has no trained weights.\n", 404, mimetype="text/plain")
        return Response(
            data,
            mimetype="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="job-{job_id[:8]}.pt"'},
        )

    def log(job_id: str) -> Response:
        # Seen by whoever may see the job's artifacts (anyone who can open the app).
        if deps.job_store.get(job_id) is None:
            return Response("No such job.\n", 404, mimetype="text/plain")
        return Response(
            stream_with_context(log_text(deps.job_store, job_id)),
            mimetype="text/plain",
            headers={"Content-Disposition": f'attachment; filename="job-{job_id[:8]}-log.txt"'},
        )

    server.add_url_rule(
        f"{prefix}jobs/<job_id>/artifacts/<int:art_id>", "dashapp_artifact", artifact
    )
    server.add_url_rule(f"{prefix}jobs/<job_id>/log.txt", "dashapp_job_log", log)
    server.add_url_rule(
        f"{prefix}jobs/<job_id>/artifacts.zip", "dashapp_artifacts_zip", artifacts_zip
    )
    server.add_url_rule(f"{prefix}jobs/<job_id>/model.pt", "dashapp_weights", weights)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(deps: Deps, args: Mapping[str, str], kind: str = "csv") -> Response:
    """Stream the view named by the query string as CSV or XLSX; 400 with a message if bad.

    ``bom=1`` starts the CSV with a byte-order mark: Excel then reads it as UTF-8 (without
    one it guesses the system's code page and garbles anything beyond ASCII).
    """
    state = parse_query(dict(args))
    key = state.get("table")
    grid_request = {
        "sortModel": state["sort"],
        "filterModel": state["filter"],
        "quick": state["quick"],
    }
    if state.get("warnings") or not key:
        return Response(
            "Bad export link: it needs a table and readable sort/filter.\n",
            400,
            mimetype="text/plain",
        )
    try:
        catalog, local = deps.locate(key)
        # Either runs the query before the 200.
        chunks: Iterator[Any] = (
            iter_xlsx(catalog, local, grid_request)
            if kind == "xlsx"
            else iter_csv(catalog, local, grid_request)
        )
    except (GridRequestError, CatalogError) as exc:
        return Response(f"Export refused: {exc}\n", 400, mimetype="text/plain")
    except DataUnavailable as exc:
        return Response(f"Export failed: {exc}\n", 503, mimetype="text/plain")
    bom = kind == "csv" and args.get("bom") in ("1", "true", "yes")

    def body() -> Iterator[Any]:
        try:
            if bom:
                yield "\ufeff"
            yield from chunks
        except DataUnavailable as exc:
            # The 200 is gone: a clean end would make a truncated file look complete.
            # Say why in a CSV, then break the stream off (no final chunk), so the
            # browser and any HTTP client report the download as failed (a workbook cut
            # short cannot be opened anyway).
            if kind == "csv":
                yield f"\n# export stopped: {exc}\n"
            raise ExportInterrupted(f"{kind.upper()} export of {key} stopped: {exc}") from exc

    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", key) + "." + kind
    return Response(
        stream_with_context(body()),
        mimetype=XLSX if kind == "xlsx" else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

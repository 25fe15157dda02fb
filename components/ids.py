"""Every component id, defined once; import these instead of writing the strings."""

from __future__ import annotations

from typing import Any

from dash import ALL


class Shell:
    """The app frame around every page."""

    NAVBAR = "shell-navbar"
    NAV_TOGGLER = "shell-nav-toggler"
    NAV_COLLAPSE = "shell-nav-collapse"
    THEME_SWITCH = "shell-theme-switch"
    USER = "shell-user"
    PAGE = "shell-page"
    MAIN = "shell-main"
    # Who is signed in (the name), for the browser-side helpers that keep things per user.
    ME = "shell-me"
    # The tables this browser opened lately, per user (localStorage): the home page lists them.
    RECENT_TABLES = "shell-recent-tables"
    # Toasts when one of the user's jobs ends, on any page.
    TOASTS = "shell-toasts"
    JOBS_TICK = "shell-jobs-tick"
    JOBS_SINCE = "shell-jobs-since"
    JOBS_SEEN = "shell-jobs-seen"


class Home:
    """The landing page."""

    CARDS = "home-cards"
    SAVED_VIEWS = "home-saved-views"
    JOBS = "home-jobs"
    JOBS_TICK = "home-jobs-tick"
    JOBS_SIGNATURE = "home-jobs-signature"
    # What this browser keeps (recent tables, the Compositor's session), read on the page.
    BROWSER = "home-browser"
    RECENT_TABLES = "home-recent-tables"
    RENDERS = "home-renders"


class Data:
    """The Data page."""

    STATE = "data-state"
    PICKER = "data-picker"
    TABLE_INFO = "data-table-info"
    BANNER = "data-banner"
    GRID_ERROR = "data-grid-error"
    GRID_BOX = "data-grid-box"
    GRID = "data-grid"
    QUICK = "data-quick"
    COLUMNS = "data-columns"
    STATUS = "data-status"
    EXPORT = "data-export"
    EXPORT_EXCEL_CSV = "data-export-excel-csv"
    EXPORT_XLSX = "data-export-xlsx"
    DETAIL = "data-detail"
    DETAIL_BODY = "data-detail-body"
    CHART_COLUMN = "data-chart-column"
    CHART = "data-chart"
    CHART_BOX = "data-chart-box"
    CHART_NOTE = "data-chart-note"
    SINK = "data-sink"
    TRAIN = "data-train"
    VIEW = "data-view"
    # Exploring: set filters, grouping, chips, column profile, saved views.
    EXPLORE = "data-explore"
    CHIPS = "data-chips"
    CLEAR_ALL = "data-clear-all"
    COLUMN_TOOLS = "data-column-tools"
    COLUMN_PANEL = "data-column-panel"
    PANEL_COLUMN = "data-panel-column"
    PANEL_TABS = "data-panel-tabs"
    SET_SEARCH = "data-set-search"
    SET_NOTE = "data-set-note"
    SET_LIST = "data-set-list"
    SET_APPLY = "data-set-apply"
    SET_CLEAR = "data-set-clear"
    PROFILE_BODY = "data-profile-body"
    GROUP_BY = "data-group-by"
    GROUP_AGGS = "data-group-aggs"
    GROUP_APPLY = "data-group-apply"
    GROUP_CLEAR = "data-group-clear"
    GROUP_NOTE = "data-group-note"
    SAVE_OPEN = "data-save-open"
    SAVE_MODAL = "data-save-modal"
    SAVE_NAME = "data-save-name"
    SAVE_SHARED = "data-save-shared"
    SAVE_CONFIRM = "data-save-confirm"
    SAVE_MESSAGE = "data-save-message"
    SAVED_LIST = "data-saved-list"
    SAVED_TICK = "data-saved-tick"

    @staticmethod
    def chip(key: str) -> dict[str, str]:
        """The remove button of one active-filter chip (``set:<column>``, ``quick``, ...)."""
        return {"type": "data-chip", "key": key}

    @staticmethod
    def chip_any() -> dict[str, Any]:
        """Every chip's remove button, for one callback."""
        return {"type": "data-chip", "key": ALL}

    @staticmethod
    def saved_delete(view_id: str) -> dict[str, str]:
        """The delete button of one saved view."""
        return {"type": "data-saved-delete", "view": view_id}

    @staticmethod
    def saved_delete_any() -> dict[str, Any]:
        """Every saved view's delete button, for one callback."""
        return {"type": "data-saved-delete", "view": ALL}


class Training:
    """The Training page and the job page."""

    TRAINER = "training-trainer"
    DESCRIPTION = "training-description"
    FORM = "training-form"
    START = "training-start"
    FORM_ERROR = "training-form-error"
    LAUNCHES = "training-launches"
    JOBS = "training-jobs"
    STATUS_FILTER = "training-status-filter"
    TRAINER_FILTER = "training-trainer-filter"
    LIST_TICK = "training-list-tick"
    CURRENT = "training-current"
    PANEL = "training-panel"
    HEADER = "training-header"
    BODY = "training-body"
    REVISION = "training-revision"
    RUN_AGAIN = "training-run-again"
    TICK = "training-tick"
    SIGNATURE = "training-signature"
    CANCEL = "training-cancel"
    CANCEL_NOTE = "training-cancel-note"
    # Metrics panels: log scale and smoothing (the job panel, the comparison page).
    METRICS_TOOLS = "training-metrics-tools"
    METRICS_LOG = "training-metrics-log"
    METRICS_SMOOTH = "training-metrics-smooth"
    COMPARE_LOG = "training-compare-log"
    COMPARE_SMOOTH = "training-compare-smooth"
    COMPARE_JOBS = "training-compare-jobs"
    COMPARE_PAGE = "training-compare-page"
    # The runs table: every job, paged by the server.
    RUNS = "training-runs"
    RUNS_QUICK = "training-runs-quick"
    PRELOAD = "training-preload"
    RUNS_COUNT = "training-runs-count"
    RUNS_USER = "training-runs-user"
    RUNS_FROM = "training-runs-from"
    RUNS_TO = "training-runs-to"
    RUNS_RANGE = "training-runs-range"
    RUNS_NOTE = "training-runs-note"
    RUNS_REFRESH = "training-runs-refresh"
    RUNS_SINK = "training-runs-sink"
    RUNS_COMPARE = "training-runs-compare"
    RUNS_DELETE = "training-runs-delete"
    RUNS_MESSAGE = "training-runs-message"
    RUNS_DELETE_MODAL = "training-runs-delete-modal"
    RUNS_DELETE_TEXT = "training-runs-delete-text"
    RUNS_DELETE_CANCEL = "training-runs-delete-cancel"
    RUNS_DELETE_CONFIRM = "training-runs-delete-confirm"
    # The whole log of a job, in pages.
    LOG_SECTION = "training-log-section"
    LOG = "training-log"
    LOG_STATE = "training-log-state"
    LOG_INFO = "training-log-info"
    LOG_EARLIER = "training-log-earlier"
    LOG_DOWNLOAD = "training-log-download"

    @staticmethod
    def param(name: str) -> dict[str, str]:
        """The input of one trainer parameter."""
        return {"type": "training-param", "name": name}

    @staticmethod
    def param_error(name: str) -> dict[str, str]:
        """The message under one trainer parameter."""
        return {"type": "training-param-error", "name": name}

    @staticmethod
    def launch(job_id: str) -> dict[str, str]:
        """The store whose appearance runs one job through a background callback."""
        return {"type": "training-launch", "job": job_id}

    @staticmethod
    def launch_done(job_id: str) -> dict[str, str]:
        """Where that background callback writes its result."""
        return {"type": "training-launch-done", "job": job_id}


class Compositor:
    """The Compositor page."""

    ROOT = "compositor-root"
    COMP = "compositor-comp"
    HIST = "compositor-hist"
    GEOM = "compositor-geom"
    LIMITS = "compositor-limits"
    QUERY = "compositor-query"
    SELECT = "compositor-select"
    FIELD_VALUES = "compositor-field-values"
    SHOWN_REV = "compositor-shown-rev"
    VIEW_REQUEST = "compositor-view-request"
    BG_UPLOAD = "compositor-bg-upload"
    BG_PENDING = "compositor-bg-pending"
    BG_MESSAGE = "compositor-bg-message"
    LAYER_UPLOAD = "compositor-layer-upload"
    LAYER_PENDING = "compositor-layer-pending"
    LAYER_MESSAGE = "compositor-layer-message"
    MESSAGE = "compositor-message"
    CANVAS = "compositor-canvas"
    CANVAS_EMPTY = "compositor-canvas-empty"
    BG_INFO = "compositor-bg-info"
    LAYERS = "compositor-layers"
    CONTROLS = "compositor-controls"
    NAME = "compositor-name"
    X = "compositor-x"
    Y = "compositor-y"
    W = "compositor-w"
    H = "compositor-h"
    OPACITY = "compositor-opacity"
    DELETE = "compositor-delete"
    DUPLICATE = "compositor-duplicate"
    FORWARD = "compositor-forward"
    BACKWARD = "compositor-backward"
    FLIP_H = "compositor-flip-h"
    FLIP_V = "compositor-flip-v"
    ROTATE = "compositor-rotate"
    UNDO = "compositor-undo"
    REDO = "compositor-redo"
    KEEP_ASPECT = "compositor-keep-aspect"
    SNAP = "compositor-snap"
    ARTIFACT = "compositor-artifact"
    ARTIFACT_ADD = "compositor-artifact-add"
    FORMAT = "compositor-format"
    QUALITY = "compositor-quality"
    RENDER = "compositor-render"
    RESULT = "compositor-result"
    RECIPE_SAVE = "compositor-recipe-save"
    RECIPE_DOWNLOAD = "compositor-recipe-download"
    RECIPE_UPLOAD = "compositor-recipe-upload"
    # The canvas's focusable frame (keys, dropped files), its view buttons and zoom.
    CANVAS_WRAP = "compositor-canvas-wrap"
    FIT = "compositor-fit"
    ZOOM_100 = "compositor-zoom-100"
    ZOOM = "compositor-zoom"
    HELP = "compositor-help"
    HELP_MODAL = "compositor-help-modal"
    # Arrow-key nudges (moved in the browser) and the one request after a burst of them.
    NUDGE = "compositor-nudge"
    COMMIT = "compositor-commit"
    # A command from the layers list: show/hide, lock, rename, reorder.
    LAYER_CMD = "compositor-layer-cmd"
    # Files queued by the upload script (drop, paste, zones), and where it shows progress.
    UPLOAD_REQUEST = "compositor-upload-request"
    BG_PROGRESS = "compositor-bg-progress"
    LAYER_PROGRESS = "compositor-layer-progress"
    CANVAS_PROGRESS = "compositor-canvas-progress"
    # Batch render.
    BATCH_SOURCES = "compositor-batch-sources"
    BATCH_MODE = "compositor-batch-mode"
    BATCH_RECIPE = "compositor-batch-recipe"
    BATCH_RECIPE_NAME = "compositor-batch-recipe-name"
    BATCH_RUN = "compositor-batch-run"
    BATCH_CANCEL = "compositor-batch-cancel"
    BATCH_REQUEST = "compositor-batch-request"
    BATCH_PROGRESS = "compositor-batch-progress"
    BATCH_STATUS = "compositor-batch-status"
    BATCH_RESULT = "compositor-batch-result"

    @staticmethod
    def layer(layer_id: str) -> dict[str, str]:
        """One entry of the layers list (click to select)."""
        return {"type": "compositor-layer", "layer": layer_id}

    @staticmethod
    def layer_any() -> dict[str, Any]:
        """Every entry of the layers list, for one callback."""
        return {"type": "compositor-layer", "layer": ALL}


class NotFound:
    """The 404 page."""

    BODY = "not-found-body"


ALL_GROUPS: tuple[type, ...] = (Shell, Home, Data, Training, Compositor, NotFound)


def all_ids() -> dict[str, str]:
    """Map ``Group.NAME`` to each id string, for the uniqueness test."""
    return {
        f"{group.__name__}.{name}": value
        for group in ALL_GROUPS
        for name, value in vars(group).items()
        if name.isupper() and isinstance(value, str)
    }

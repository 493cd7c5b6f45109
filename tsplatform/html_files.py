"""Writing the HTML reports both paths publish (category forecasts, sensor charts).

Pages are replaced atomically (written beside, then renamed), so a browser or ``GET /charts/...``
during a refresh gets the old page or the new one, never half of one. Links between pages are
relative to the linking page's folder: they work opened from disk and served over HTTP alike.
"""

from __future__ import annotations

import html
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

PLOTLY_JS_NAME = "plotly.min.js"


def write_html(path: str | os.PathLike, text: str) -> Path:
    """Replace the file at ``path`` with ``text`` (UTF-8) in one rename; makes its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def relative_href(target: str | os.PathLike, page: str | os.PathLike) -> str:
    """The escaped ``href`` that links ``page`` (an HTML file) to ``target``."""
    target_path, page_path = Path(os.path.abspath(target)), Path(os.path.abspath(page))
    relative = Path(os.path.relpath(target_path, page_path.parent)).as_posix()
    return html.escape(quote(relative, safe="/"), quote=True)


def write_plotly_js(folder: str | os.PathLike) -> Path:
    """plotly.js next to the pages, written once (again only when the bundled version changed)."""
    target = Path(folder) / PLOTLY_JS_NAME
    script = _plotly_js()
    if not target.exists() or target.stat().st_size != len(script):
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(script)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    return target


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")

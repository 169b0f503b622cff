"""Write (or check) the checked-in OpenAPI document: ``python -m netcds.api.openapi [--check] [PATH]``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

USAGE = "usage: python -m netcds.api.openapi [--check] [PATH]  (default PATH: docs/openapi.json)\n"
DEFAULT_PATH = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def build_openapi() -> dict[str, Any]:
    """The service's OpenAPI document, independent of the environment (in-memory store, default settings)."""
    from netcds.api.app import create_app
    from netcds.settings import Settings

    quiet = logging.getLogger("netcds.api")
    before = quiet.disabled
    quiet.disabled = True  # no "no issuers configured" warning while building a document
    try:
        app = create_app(Settings(db_url="sqlite://", hooks_open=False))
    finally:
        quiet.disabled = before
    try:
        return app.openapi()
    finally:
        app.state.netcds.store.close()


def render() -> str:
    return json.dumps(build_openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        sys.stdout.write(USAGE)
        return 0
    check = "--check" in args
    rest = [a for a in args if a != "--check"]
    if len(rest) > 1 or any(a.startswith("-") for a in rest):  # never write a file named like an option
        sys.stderr.write(USAGE)
        return 2
    path = Path(rest[0]) if rest else DEFAULT_PATH
    text = render()
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            sys.stderr.write(f"{path} is stale: run python -m netcds.api.openapi\n")
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

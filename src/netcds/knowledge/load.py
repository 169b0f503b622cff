"""Load one guideline version from its folder, validate it whole, freeze it.

Every problem in every file is collected and reported with ``file: path``
before anything is used; a partial knowledge base is never returned.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from netcds.errors import KnowledgeError, UnknownVersionError
from netcds.io import field_path, printable
from netcds.knowledge.schema import Exclusion, Footnote, Knowledge, Manifest, Principle, Table

M = TypeVar("M", bound=BaseModel)
DEFAULT_GUIDELINE = "nccn-net"
DEFAULT_VERSION = "5.2024-r13"  # the newest release; "5.2024", "5.2024-r2" to "5.2024-r12": the earlier ones


def default_knowledge_dir() -> Path:
    """The knowledge root: $NETCDS_KNOWLEDGE_DIR, the installed copy, or the source tree's."""
    env = os.environ.get("NETCDS_KNOWLEDGE_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_knowledge"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "knowledge"


class DuplicateKeyError(yaml.YAMLError):
    """A mapping gives one key twice: YAML keys are unique, and PyYAML would keep the last one silently."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice (a second ``id:``, a repeated field)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<:``: merged keys may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if first is not None:
                raise DuplicateKeyError(
                    f"duplicate key '{printable(str(key), 80)}' at line {line}, "
                    f"column {key_node.start_mark.column + 1} (first given at line {first})"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str) -> Any:
    """Knowledge YAML as data (safe tags only); a key given twice in one mapping is a DuplicateKeyError."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506  # nosec B506 - a SafeLoader subclass


def read_yaml(path: Path, rel: str, problems: list[tuple[str, str]]) -> Any:
    """Parse one knowledge file; a problem is recorded (not raised) so every file gets reported."""
    try:
        return parse_yaml(path.read_text(encoding="utf-8"))
    except DuplicateKeyError as exc:
        problems.append((rel, str(exc)))
    except FileNotFoundError:
        problems.append((rel, "file not found"))
    except yaml.YAMLError as exc:
        problems.append((rel, f"not valid YAML: {exc}".replace("\n", " ")))
    except UnicodeDecodeError as exc:
        problems.append((rel, f"not UTF-8 text (byte {exc.start})"))
    except RecursionError:
        problems.append((rel, "not readable: nested too deeply"))
    except OSError as exc:
        problems.append((rel, f"cannot read: {exc.strerror}"))
    return None


def validation_problems(exc: ValidationError, rel: str) -> list[tuple[str, str]]:
    """Each pydantic error as ``("file: path", message)``."""
    return [
        (
            f"{rel}: {field_path(tuple(err['loc']))}".rstrip(": "),
            str(err["msg"]).removeprefix("Value error, "),
        )
        for err in exc.errors()
    ]


def validate_model(cls: type[M], data: Any, rel: str, problems: list[tuple[str, str]]) -> M | None:
    if data is None and any(path == rel for path, _ in problems):
        return None  # the file could not be read: its problem is said already, not a schema error after it
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, rel))
    return None


def content_digest(files: dict[str, bytes]) -> str:
    """A short digest of a knowledge component's files (name and bytes), as recorded in evaluations."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + files[rel] + b"\0")
    return digest.hexdigest()[:16]


def load_folder(folder: Path) -> Knowledge:
    """Load and validate the guideline version stored in ``folder``."""
    problems: list[tuple[str, str]] = []
    files: dict[str, bytes] = {}

    def read(rel: str) -> Any:
        p = folder / rel
        if p.is_file():
            files[rel] = p.read_bytes()
        return read_yaml(p, rel, problems)

    raw_manifest = read("manifest.yaml")
    manifest = validate_model(Manifest, raw_manifest, "manifest.yaml", problems)
    # the files the manifest names are validated even when it is invalid: every file's errors at once
    tables, footnotes, principles, exclusions = _named_files(raw_manifest, read, problems)
    if manifest is None:
        raise KnowledgeError(problems)
    kb_tables = [t for t in tables if t is not None]
    fn = {f.letter: f for f in footnotes if f is not None}
    pr = {p.id: p for p in principles if p is not None}
    _cross_check(manifest, kb_tables, fn, pr, problems)
    if problems:
        raise KnowledgeError(problems)
    return Knowledge(
        manifest=manifest,
        tables=kb_tables,
        footnotes=fn,
        principles=pr,
        exclusions=[e for e in exclusions if e is not None],
        digest=content_digest(files),
    )


def _named_files(
    raw: Any, read: Callable[[str], Any], problems: list[tuple[str, str]]
) -> tuple[list[Table | None], list[Footnote | None], list[Principle | None], list[Exclusion | None]]:
    """The tables, footnotes, principles and exclusions of the files a (raw) manifest names, validated;
    a name the manifest does not give as text is skipped (the manifest's own error reports it)."""
    raw = raw if isinstance(raw, dict) else {}
    names = raw.get("tables")
    tables = [
        validate_model(Table, read(rel), rel, problems)
        for rel in (names if isinstance(names, list) else [])
        if isinstance(rel, str)
    ]

    def items(key: str, model: type[M], ident: str) -> list[M | None]:
        rel = raw.get(key)
        if not isinstance(rel, str):
            return []
        out = [validate_model(model, x, f"{rel}: [{i}]", problems) for i, x in enumerate(read(rel) or [])]
        # each is looked up by its id (footnote letter): a second one would silently replace the first
        first: dict[str, int] = {}
        for i, item in enumerate(out):
            if item is None:
                continue
            name = getattr(item, ident)
            if name in first:
                problems.append(
                    (f"{rel}: [{i}].{ident}", f"duplicate {ident} '{name}' (also at [{first[name]}])")
                )
            first.setdefault(name, i)
        return out

    return (
        tables,
        items("footnotes", Footnote, "letter"),
        items("principles", Principle, "id"),
        items("exclusions", Exclusion, "id"),
    )


def _cross_check(
    manifest: Manifest,
    tables: list[Table],
    footnotes: dict[str, Footnote],
    principles: dict[str, Principle],
    problems: list[tuple[str, str]],
) -> None:
    refs = {r.id for r in manifest.references}
    seen_tables: set[str] = set()
    for rel, table in zip(manifest.tables, tables, strict=False):
        if table.id in seen_tables:
            problems.append((f"{rel}: id", f"duplicate table id '{table.id}'"))
        seen_tables.add(table.id)
        for key, letters in (
            ("title_footnotes", table.title_footnotes),
            ("ssa_plan_footnote", [table.ssa_plan_footnote] if table.ssa_plan_footnote else []),
            (
                "inferred_footnotes.letters",
                table.inferred_footnotes.letters if table.inferred_footnotes else [],
            ),
        ):
            for letter in letters:
                if letter not in footnotes:
                    problems.append((f"{rel}: {key}", f"unknown footnote '{letter}'"))
        for i, pid in enumerate(table.principles):
            if pid not in principles:
                problems.append((f"{rel}: principles[{i}]", f"unknown principle '{pid}'"))
        for i, ref in enumerate(table.see or []):
            if ref not in refs:
                problems.append((f"{rel}: see[{i}]", f"unknown page reference '{ref}'"))
        ids: set[str] = set()
        col_ids = [c.id for c in table.columns]
        if len(set(col_ids)) != len(col_ids):
            problems.append((f"{rel}: columns", "duplicate column id"))
        for ci, col in enumerate(table.columns):
            for ei, e in enumerate(col.entries):
                where = f"{rel}: columns[{ci}].entries[{ei}]"
                if e.id in ids:
                    problems.append((f"{where}.id", f"duplicate entry id '{e.id}'"))
                ids.add(e.id)
                for letter in e.footnotes + [q.footnote for q in e.qualifiers if q.footnote]:
                    if letter not in footnotes:
                        problems.append((f"{where}.footnotes", f"unknown footnote '{letter}'"))
                for s in e.see:
                    if s not in refs:
                        problems.append((f"{where}.see", f"unknown page reference '{s}'"))
                if e.tier == "listed" and table.id != "wd_g3":
                    problems.append((f"{where}.tier", "'listed' is only for the untiered G3 entries"))


@cache
def _load_cached(path: str) -> Knowledge:
    return load_folder(Path(path))


# a guideline id or release as a URL names it: a folder name, never a path ("..", "/") or other text
RELEASE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class ReleaseIdError(UnknownVersionError):
    """A release (or guideline) named by text that is not an id at all (empty, a path such as
    ``5.2024/`` or ``r7/../5.2024``): a wrong input, refused before any file is looked up.
    ``field`` is ``version`` or ``guideline``; ``message`` says what is available."""

    def __init__(self, field: str, value: str, available: list[str]) -> None:
        self.field = field
        self.value = value
        what = "release id" if field == "version" else "guideline id"
        self.message = (
            f"'{printable(value, 80)}' is not a {what} (available: {', '.join(available) or 'none'})"
        )
        super().__init__([(field, self.message)])


def load_knowledge(
    version: str = DEFAULT_VERSION, guideline: str = DEFAULT_GUIDELINE, root: Path | None = None
) -> Knowledge:
    """Load (once per process) the guideline ``version`` from the knowledge root. A guideline or version
    that is not an id (``RELEASE_ID``) raises ReleaseIdError; one not installed, UnknownVersionError."""
    if root is None:
        hit = _DEFAULTS.get((guideline, version))
        if hit is not None and hit[0] == os.environ.get("NETCDS_KNOWLEDGE_DIR"):
            return hit[1]
    if RELEASE_ID.fullmatch(guideline) is None:
        base = root or default_knowledge_dir()
        held = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        raise ReleaseIdError("guideline", guideline, held)
    if RELEASE_ID.fullmatch(version) is None:
        raise ReleaseIdError("version", version, available_versions(guideline, root))
    folder = (root or default_knowledge_dir()) / guideline / version
    if not folder.is_dir():
        raise UnknownVersionError([(str(folder), f"no knowledge for {guideline} {version}")])
    try:
        kb = _load_cached(str(folder.resolve()))
    except KnowledgeError as exc:
        exc.where = exc.where or str(folder)
        raise
    if root is None:
        # an installed release is named by its folder in URLs, stored records and card links: the
        # manifest must name the same release and guideline, or a link would open other knowledge
        _check_names(kb, guideline, version, folder)
        _DEFAULTS[(guideline, version)] = (os.environ.get("NETCDS_KNOWLEDGE_DIR"), kb)
    return kb


def _check_names(kb: Knowledge, guideline: str, version: str, folder: Path) -> None:
    where = str(folder / "manifest.yaml")
    problems = [
        (f"{where}: {field}", f"names '{said}', but the release is installed as {guideline}/{version}")
        for field, said, want in (("id", kb.id, guideline), ("release", kb.release, version))
        if said != want
    ]
    if problems:
        raise KnowledgeError(problems)


_DEFAULTS: dict[tuple[str, str], tuple[str | None, Knowledge]] = {}


def release_order(name: str) -> tuple[tuple[int, str], ...]:
    """Sort key putting releases in issue order: numbers compare as numbers (5.2024-r9 before -r10)."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", name) if part
    )


def available_versions(guideline: str = DEFAULT_GUIDELINE, root: Path | None = None) -> list[str]:
    """The releases installed for ``guideline``, oldest first."""
    base = (root or default_knowledge_dir()) / guideline
    if not base.is_dir():
        return []
    return sorted((p.name for p in base.iterdir() if (p / "manifest.yaml").is_file()), key=release_order)


def release_installed(guideline: str, release: str) -> bool:
    """Whether ``guideline`` / ``release`` (as a URL or request names them) is a release installed in the
    knowledge root; text that is not a well-formed id is not, and no file is looked up for it."""
    return (
        RELEASE_ID.fullmatch(guideline) is not None
        and RELEASE_ID.fullmatch(release) is not None
        and release in available_versions(guideline)
    )

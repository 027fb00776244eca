"""Texts as a catalog with keys: Fluent files under ``bot/locales/<locale>/*.ftl``.

Every text the product shows a person (customers, agents, operators, the command line) is a key in
the catalog, never a string constant in a handler. The catalog is served by aiogram-i18n's
``FluentRuntimeCore``; in handlers the ``I18nMiddleware`` (see ``bot/middlewares``) injects the
customer's ``i18n`` context, elsewhere ``Catalog.texts(locale)`` gives the same ``get(key, **args)``.
A new language is a new folder of ``.ftl`` files: a key it lacks falls back to the default locale.

The files are checked when the catalog loads: a syntax error, a repeated key, or a file that is not
UTF-8 stops the start with ``file:line: problem``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiogram_i18n.cores import FluentRuntimeCore
from aiogram_i18n.exceptions import KeyNotFoundError
from fluent.syntax import FluentParser, ast

from bot.errors import ConfigurationError

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"


class TextSource(Protocol):
    """What services and handlers need from the catalog: a text by key, in one language.

    aiogram-i18n's ``I18nContext`` (injected into handlers) and ``Texts`` both fit.
    """

    def get(self, key: str, /, **kwargs: Any) -> str: ...


class Catalog:
    """All locales' texts; ``get(key, locale, **args)`` formats one."""

    def __init__(self, core: FluentRuntimeCore) -> None:
        self.core = core

    @classmethod
    def load(cls, path: Path = LOCALES_DIR, default_locale: str = DEFAULT_LOCALE) -> Catalog:
        """Read and check every locale under ``path``; ConfigurationError names file and line."""
        locales = check_catalog(path)
        if default_locale not in locales:
            found = ", ".join(sorted(locales)) or "none"
            raise ConfigurationError(
                f"{path}: no texts for the default language {default_locale!r} (found: {found})"
            )
        core = FluentRuntimeCore(
            path=path,
            default_locale=default_locale,
            use_td=False,
            # A key missing in a translation falls back to the default language.
            locales_map={locale: default_locale for locale in locales if locale != default_locale},
        )
        core.locales.update(core.find_locales())
        return cls(core)

    @property
    def default_locale(self) -> str:
        return str(self.core.default_locale)

    @property
    def locales(self) -> tuple[str, ...]:
        return self.core.available_locales

    def get(self, key: str, locale: str | None = None, /, **kwargs: Any) -> str:
        """The text of ``key`` in ``locale`` (else the default language)."""
        return self.core.get(key, self._locale(locale), **kwargs)

    def has(self, key: str, locale: str | None = None) -> bool:
        try:
            self.core.get_translator(self._locale(locale)).get_message(key)
        except KeyError:
            return False
        return True

    def texts(self, locale: str | None = None) -> Texts:
        """The catalog bound to one language (agents', operators' and CLI texts, services)."""
        return Texts(self, self._locale(locale))

    def _locale(self, locale: str | None) -> str:
        return locale if locale in self.core.locales else self.default_locale


@dataclass(frozen=True, slots=True)
class Texts:
    """The catalog in one language: ``texts.get("handoff-new", ticket=3)``."""

    catalog: Catalog
    locale: str

    def get(self, key: str, /, **kwargs: Any) -> str:
        return self.catalog.get(key, self.locale, **kwargs)

    __call__ = get


def check_catalog(path: Path) -> dict[str, list[Path]]:
    """Every locale folder's ``.ftl`` files, after checking each parses cleanly."""
    if not path.is_dir():
        raise ConfigurationError(f"{path}: the texts folder does not exist")
    locales: dict[str, list[Path]] = {}
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        files = sorted(folder.rglob("*.ftl"))
        if not files:
            continue
        seen: dict[str, str] = {}
        for file in files:
            _check_file(file, seen)
        locales[folder.name] = files
    if not locales:
        raise ConfigurationError(f"{path}: no .ftl files in any language folder")
    return locales


def _check_file(file: Path, seen: dict[str, str]) -> None:
    try:
        source = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{file}: not UTF-8 text ({exc.reason})") from None
    resource = FluentParser().parse(source)
    for entry in resource.body:
        if isinstance(entry, ast.Junk):
            line = source.count("\n", 0, entry.span.start) + 1 if entry.span else 0
            problem = entry.annotations[0].message if entry.annotations else "cannot be read"
            raise ConfigurationError(f"{file}:{line}: {problem}")
        if isinstance(entry, ast.Message | ast.Term):
            name = ("-" if isinstance(entry, ast.Term) else "") + entry.id.name
            line = source.count("\n", 0, entry.span.start) + 1 if entry.span else 0
            where = f"{file.name}:{line}"
            if name in seen:
                raise ConfigurationError(
                    f"{file}:{line}: {name!r} is defined twice (also at {seen[name]})"
                )
            seen[name] = where


__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES_DIR",
    "Catalog",
    "KeyNotFoundError",
    "TextSource",
    "Texts",
    "check_catalog",
]

"""Texts as a catalog with keys: Fluent files under ``bot/locales/<locale>/*.ftl``.

Every text the product shows a person (customers, agents, operators, the command line) is a key in
the catalog, never a string constant in a handler. Fluent's own runtime formats them;
in handlers aiogram-i18n's ``I18nMiddleware`` (``bot/middlewares/locale.py``) injects the customer's
``i18n`` context over this catalog, elsewhere ``Catalog.texts(locale)`` gives the same
``get(key, **args)``. Loading it imports no aiogram, so the command line stays quick.
A new language is a new folder of ``.ftl`` files: a key it lacks falls back to the default locale.

The files are checked when the catalog loads: a syntax error, a repeated key, or a file that is not
UTF-8 stops the start with ``file:line: problem``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fluent.runtime import FluentBundle, FluentResource
from fluent.runtime.types import FluentType
from fluent.syntax import FluentParser, ast

from common.errors import ConfigurationError
from common.language import is_chinese

if TYPE_CHECKING:
    from babel import Locale

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"


class TextSource(Protocol):
    """What services and handlers need from the catalog: a text by key, in one language.

    aiogram-i18n's ``I18nContext`` (injected into handlers) and ``Texts`` both fit.
    """

    locale: str  # the language the texts are in

    def get(self, key: str, /, **kwargs: Any) -> str: ...


class Catalog:
    """All locales' texts; ``get(key, locale, **args)`` formats one."""

    def __init__(self, bundles: dict[str, FluentBundle], default_locale: str) -> None:
        self.bundles = bundles
        self.default_locale = default_locale

    @classmethod
    def load(cls, path: Path = LOCALES_DIR, default_locale: str = DEFAULT_LOCALE) -> Catalog:
        """Read and check every locale under ``path``; ConfigurationError names file and line."""
        locales = check_catalog(path)
        if default_locale not in locales:
            found = ", ".join(sorted(locales)) or "none"
            raise ConfigurationError(
                f"{path}: no texts for the default language {default_locale!r} (found: {found})"
            )
        bundles = {}
        for locale, files in locales.items():
            # No Unicode isolation marks around arguments: Telegram shows them as they are.
            bundle = FluentBundle([locale], use_isolating=False)
            for file in files:
                bundle.add_resource(FluentResource(file.read_text(encoding="utf-8")))
            bundles[locale] = bundle
        return cls(bundles, default_locale)

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self.bundles)

    def get(self, key: str, locale: str | None = None, /, **kwargs: Any) -> str:
        """The text of ``key`` in ``locale``; a key the language lacks comes from the default."""
        bundle = self.bundles.get(locale or self.default_locale)
        if bundle is None or not bundle.has_message(key):
            bundle = self.bundles[self.default_locale]
        message = bundle.get_message(key)  # KeyError: the key is not in the catalog at all
        if message.value is None:
            raise KeyError(key)
        args = {name: _Text(v) if isinstance(v, str) else v for name, v in kwargs.items()}
        text, errors = bundle.format_pattern(message.value, args)
        if errors:
            raise ValueError(f"text {key!r}: {'; '.join(str(e) for e in errors)}")
        return text

    def has(self, key: str, locale: str | None = None) -> bool:
        bundle = self.bundles.get(locale or self.default_locale)
        return bundle is not None and bundle.has_message(key)

    def language_name(self, locale: str) -> str:
        """How a language names itself on the ``/language`` buttons (``language-name``)."""
        return self.get("language-name", locale) if self.has("language-name", locale) else locale

    def match(self, code: str | None) -> str | None:
        """The catalog's locale for a language code (Telegram's ``language_code``, ``/language``).

        ``zh``, ``zh-hans``, ``zh-CN``, ``zh_TW``… all give ``zh``; a language without texts, None.
        """
        if not code:
            return None
        code = code.strip().lower().replace("_", "-")
        if code in self.bundles:
            return code
        primary = code.split("-", 1)[0]
        return primary if primary in self.bundles else None

    def texts(self, locale: str | None = None) -> Texts:
        """The catalog bound to one language (agents', operators' and CLI texts, services)."""
        locale = locale if locale in self.bundles else self.default_locale
        return Texts(self, locale)


class _Text(str, FluentType):
    """A text argument, placed as it is.

    fluent.runtime refuses a placeable longer than 2,500 characters (a guard against messages
    that expand into each other), but an argument may rightly be longer: a customer's message,
    an FAQ answer. Its length is bounded where it comes from (Telegram's 4,096 characters).
    """

    def format(self, locale: Locale) -> str:
        return self


def script_locale(text: str | None) -> str | None:
    """The language a text's script gives away: ``zh`` when it is mostly Chinese characters."""
    return "zh" if is_chinese(text) else None


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
    "TextSource",
    "Texts",
    "check_catalog",
    "script_locale",
]

"""The text catalog: Fluent files checked at load, a language falls back to the default per key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import ConfigurationError
from bot.i18n import LOCALES_DIR, Catalog

ROOT = Path(__file__).resolve().parents[2]


def _write(folder: Path, locale: str, name: str, text: str) -> Path:
    path = folder / locale / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_catalog_formats_placeholders() -> None:
    catalog = Catalog.load()
    assert catalog.default_locale == "en"
    text = catalog.get("handoff-new", ticket=7)
    assert "ticket #7" in text
    assert catalog.texts().get("rating-thanks", score=5) == "Thank you for rating us 5/5!"


def test_a_long_argument_is_placed_whole() -> None:
    """A customer's message may be longer than fluent.runtime's limit on one placeable."""
    texts = Catalog.load().texts()
    message = "Where is my order? " * 200  # 3,800 characters
    assert texts.get("turn", role="customer", text=message) == f"👤 {message}"


def test_a_translation_falls_back_to_the_default_language_per_key(tmp_path: Path) -> None:
    _write(tmp_path, "en", "main.ftl", "hello = Hello { $name }\nbye = Goodbye\n")
    _write(tmp_path, "zh", "main.ftl", "hello = 你好 { $name }\n")
    catalog = Catalog.load(tmp_path)
    assert catalog.get("hello", "zh", name="Ann") == "你好 Ann"
    assert catalog.get("bye", "zh") == "Goodbye"
    assert catalog.get("hello", "fr", name="Ann") == "Hello Ann"  # unknown language → default


def test_a_broken_file_stops_the_load_naming_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "en", "main.ftl", "ok = fine\n\nbroken = { $name\nother = x\n")
    with pytest.raises(ConfigurationError) as caught:
        Catalog.load(tmp_path)
    assert str(caught.value).startswith(f"{path}:3: ")


def test_a_key_defined_twice_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "en", "a.ftl", "greeting = Hi\n")
    path = _write(tmp_path, "en", "b.ftl", "\ngreeting = Hello\n")
    with pytest.raises(
        ConfigurationError,
        match=rf"{re.escape(str(path))}:2: 'greeting' is defined twice \(also at a.ftl:1\)",
    ):
        Catalog.load(tmp_path)


def test_missing_default_language_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "zh", "main.ftl", "hello = 你好\n")
    with pytest.raises(ConfigurationError, match="no texts for the default language 'en'"):
        Catalog.load(tmp_path)


def test_every_key_the_code_asks_for_exists() -> None:
    """Keys are written as string literals at their call sites (``.get("key"``), so a typo
    would only show when that text is sent; this finds them all up front."""
    catalog = Catalog.load(LOCALES_DIR)
    pattern = re.compile(r"""\b(?:texts|i18n|catalog)(?:\.get)?\(\s*["']([a-z][a-z0-9-]*)["']""")
    used: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        used.update(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "no catalog lookups found"
    missing = sorted(key for key in used if not catalog.has(key))
    assert missing == []


def _messages(path: Path) -> dict[str, set[str]]:
    """Each message of a Fluent file and the variables it uses."""
    from fluent.syntax import FluentParser, ast

    source = path.read_text(encoding="utf-8")
    found = {}
    for entry in FluentParser().parse(source).body:
        if isinstance(entry, ast.Message):
            text = source[entry.span.start : entry.span.end]
            found[entry.id.name] = set(re.findall(r"\{\s*\$([a-z_]+)", text))
    return found


def test_every_customer_text_exists_in_chinese_with_the_same_variables() -> None:
    english = _messages(LOCALES_DIR / "en" / "customer.ftl")
    chinese = _messages(LOCALES_DIR / "zh" / "customer.ftl")
    assert chinese == english
    catalog = Catalog.load()
    assert catalog.locales == ("en", "zh")
    assert catalog.get("button-human", "zh") == "转人工客服"
    assert catalog.language_name("zh") == "简体中文"
    assert catalog.language_name("en") == "English"


def test_agents_texts_stay_english_in_the_chinese_catalog() -> None:
    """Only customers' texts are translated: the rest falls back to English key by key."""
    assert sorted(p.name for p in (LOCALES_DIR / "zh").glob("*.ftl")) == ["customer.ftl"]
    catalog = Catalog.load()
    assert not catalog.has("agent-claimed", "zh")
    assert catalog.get("agent-claimed", "zh", agent="Dana") == catalog.get(
        "agent-claimed", "en", agent="Dana"
    )


def test_a_broken_chinese_file_stops_the_load_naming_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "en", "main.ftl", "hello = Hello\n")
    path = _write(tmp_path, "zh", "main.ftl", "hello = 你好\nbroken = { $名字\n")
    with pytest.raises(ConfigurationError) as caught:
        Catalog.load(tmp_path)
    assert str(caught.value).startswith(f"{path}:2: ")

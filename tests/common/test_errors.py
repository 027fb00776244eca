"""One error root: every error the product raises on purpose is a SupportBotError."""

from __future__ import annotations

import pytest

from bot.errors import ConfigurationError, SupportBotError, UserFacingError
from bot.services.agents_chat import TopicUnavailableError
from knowledge_base.formats import ExportError
from knowledge_base.loaders import KnowledgeBaseError
from knowledge_base.store import KbEditError
from models.smollm import BaseModelMissingError


@pytest.mark.parametrize(
    ("error", "kinds"),
    [
        (KnowledgeBaseError, (UserFacingError, ValueError)),
        (KbEditError, (KnowledgeBaseError, UserFacingError, ValueError)),
        (ExportError, (UserFacingError, ValueError)),
        (BaseModelMissingError, (ConfigurationError, RuntimeError)),
        (TopicUnavailableError, (ConfigurationError,)),
    ],
)
def test_project_errors_share_one_root(error: type[Exception], kinds: tuple[type, ...]) -> None:
    assert issubclass(error, SupportBotError)
    for kind in kinds:
        assert issubclass(error, kind)


def test_user_facing_problems() -> None:
    assert UserFacingError("no such ticket").problems == ["no such ticket"]
    refused = KnowledgeBaseError(["kb.csv:2: id: missing or empty", "kb.csv:3: answer: too long"])
    assert refused.problems == ["kb.csv:2: id: missing or empty", "kb.csv:3: answer: too long"]
    assert str(refused).startswith("knowledge base refused (2 problem(s)):\nkb.csv:2: id:")
    assert str(KbEditError(["a", "b"])) == "a; b"

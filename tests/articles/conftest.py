"""The newsroom's people, as the article tests meet them: a Reporter and Editors in their real
role groups (see `accounts.roles`)."""

import pytest

from tests.accounts.factories import UserFactory


@pytest.fixture
def writer():
    """A Reporter: writes stories, edits their own until they are published."""
    return UserFactory(username="writer", first_name="Wendy", last_name="Writer", reporter=True)


@pytest.fixture
def editor():
    return UserFactory(username="editor", first_name="Ed", last_name="Itor", editor=True)


@pytest.fixture
def alice():
    """An Editor, for tests of two editors at once (with `bob`)."""
    return UserFactory(username="alice", first_name="Alice", last_name="Editor", editor=True)


@pytest.fixture
def bob():
    return UserFactory(username="bob", first_name="Bob", last_name="Editor", editor=True)


@pytest.fixture
def editor_client(client, editor):
    """A browser logged in as an Editor."""
    client.force_login(editor)
    return client

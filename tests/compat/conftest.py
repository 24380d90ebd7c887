"""Fixtures of the compatibility suite: the fake model server, the running
gateway, and the IAM world built from the seed documents."""

from __future__ import annotations

import os
import secrets

import pytest

import harness
import seed_world
from fake_openai import FakeOpenAI
from harness import SECRETS


def pytest_configure(config):
    # The suite sets every AWS setting explicitly: nothing of this machine's
    # AWS environment (AWS_CA_BUNDLE among them, which botocore would let
    # override a client's CA) may leak into a client.
    for name in list(os.environ):
        if name.startswith("AWS_"):
            del os.environ[name]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    config.addinivalue_line("markers", "after_all: run after every other test of the suite")


def pytest_collection_modifyitems(session, config, items):
    # The log check runs after every other test, whatever the order given.
    last = [i for i in items if i.get_closest_marker("after_all")]
    items[:] = [i for i in items if i not in last] + last


@pytest.fixture(scope="session")
def fake_openai():
    key = "sk-compat-" + secrets.token_hex(16)
    SECRETS.add(key, "fake upstream API key")
    server = FakeOpenAI(api_key=key).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory, fake_openai):
    workdir = tmp_path_factory.mktemp("gateway")
    ports = [harness.free_port() for _ in range(3)]
    while len(set(ports)) < 3 or 8443 in ports:
        ports = [harness.free_port() for _ in range(3)]
    config = harness.main_config(workdir, ports, fake_openai.base_url)
    gw = harness.Gateway(workdir, ports, config, env={"SEKISHO_COMPAT_FAKE_KEY": fake_openai.api_key})
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
def world(gateway) -> seed_world.World:
    """The users, groups, roles and policies of the seed documents, created
    with the admin's `iam` client."""
    return seed_world.build(gateway)

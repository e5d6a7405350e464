"""The fixed cast: `owner`, `other` (another user) and `anon`, each with an API client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from stitch.models import User
from tests.factories import UserFactory


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory.create(username="owner")


@pytest.fixture
def other(db: None) -> User:
    return UserFactory.create(username="other")


@pytest.fixture
def owner_client(owner: User) -> APIClient:
    return client_for(owner)


@pytest.fixture
def other_client(other: User) -> APIClient:
    return client_for(other)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def run_jobs(transactional_db: None) -> Iterator[Callable[..., None]]:
    """Run every pending background (procrastinate) job to completion, in this process.

    Use it in `@pytest.mark.django_db(transaction=True)` tests (it requests a transactional
    database itself): jobs are deferred in the same transaction as the change that needs
    them, so the worker only sees them once that transaction has committed. Call
    `run_jobs()` after the code under test has deferred jobs; it runs them (and any jobs
    they defer) until the queue is empty, waiting up to `horizon` seconds (default 10) for
    jobs scheduled a little later (retry backoff, the `delay` worker). Jobs left by
    earlier tests are cleared first; the worker's database sessions are ended at
    teardown so the test database can be dropped.
    """
    from tests.jobrunner import jobs_clear, run_pending_jobs, worker_sessions_end

    jobs_clear()
    yield run_pending_jobs
    jobs_clear()
    worker_sessions_end()

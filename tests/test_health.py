import pytest


def test_healthz_answers_while_the_process_lives(client):
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_readyz_answers_when_postgresql_and_redis_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"postgresql": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_readyz_names_redis_when_it_does_not_answer(client, settings):
    settings.REDIS_URL = "redis+socket:///nonexistent/redis.sock"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "down"
    assert "redis" in response.json()["message"]

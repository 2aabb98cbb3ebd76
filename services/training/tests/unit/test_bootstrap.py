"""Building the production app wires everything and connects to nothing."""

from __future__ import annotations

from linli_kit import auth
from linli_training.bootstrap import build_app
from linli_training.config import TrainingSettings


def test_building_the_production_app_connects_to_nothing() -> None:
    settings = TrainingSettings(
        database_url="postgresql+psycopg://nowhere.invalid/training",
        redis_url="redis://nowhere.invalid:6379/0",
    )

    app = build_app(settings)

    assert app.service_names == [
        "linli.training.v1.TrainingService",
        "linli.training.v1.AssessmentService",
    ]
    assert isinstance(app.verifier, auth.PublishedKeys)
    # The relay, consumers of attendance.events and identity.events, the gauges.
    assert len(app.background) == 4
    assert app.dead_letters is not None

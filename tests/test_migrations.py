"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dulieuso.migrate import alembic_config, current_revision, head_revision
from dulieuso.models import metadata
from alembic.script import ScriptDirectory


def test_one_head(engine):
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, heads


def test_database_is_at_head(engine):
    assert current_revision(engine) == head_revision(engine)


def test_models_match_the_migrated_schema(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []

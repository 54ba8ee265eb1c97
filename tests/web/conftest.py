import pytest


@pytest.fixture(autouse=True)
async def _fresh_database(clean_db: None) -> None:
    """Every test here starts from empty tables."""

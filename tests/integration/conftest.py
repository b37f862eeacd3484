from __future__ import annotations

from collections.abc import Iterator

import pytest
from o2c_landscape import Landscape, landscape


@pytest.fixture(scope="module")
def scape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    with landscape(tmp_path_factory.mktemp("o2c")) as running:
        yield running

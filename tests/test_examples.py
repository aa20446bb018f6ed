"""The bundled examples: the specimens shipped in the repository are the shared set's."""

from __future__ import annotations

from tests.conftest import SHARED_SPECIMENS, SPECIMENS, need_shared


def test_the_shipped_specimens_are_the_shared_ones_byte_for_byte() -> None:
    shared = need_shared(SHARED_SPECIMENS)
    ours = sorted(p.name for p in SPECIMENS.iterdir())
    assert ours == sorted(p.name for p in shared.iterdir()) and len(ours) == 2
    for name in ours:
        assert (SPECIMENS / name).read_bytes() == (shared / name).read_bytes(), name

"""Smoke test for the export benchmark: tiny sizes, every format and transport, no timings.

``bench`` itself fails if a receiver did not get every event (UDP excepted: it has no
acknowledgement), so this proves the harness and every transport end to end.
"""

from __future__ import annotations

import pytest

from gateway.export.formats import FORMAT_NAMES
from tests.perf.bench_export import bench, format_table
from tests.support.rsyslog import rsyslogd

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_format_goes_through_every_transport() -> None:
    table, lost = bench(40, 16)
    print(format_table(table))
    expected = {"render only", "syslog-tcp", "syslog-udp", "hec", "webhook", "file"}
    if rsyslogd():
        expected.add("syslog-tls")
    assert set(table) == expected
    assert all(set(row) == set(FORMAT_NAMES) for row in table.values())
    assert all(rate > 0 for row in table.values() for rate in row.values())
    assert set(lost) == set(FORMAT_NAMES)

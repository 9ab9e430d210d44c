"""The registry of connector kinds (`sql`, `rest`, `folder`): what each reads and how it is configured.

A connector turns a source's options and secrets into chunks of records (or files) per record kind, each
with the cursor reached after it. It never stores anything: the sync hands every chunk to the import.
Register a new kind with `CONNECTORS.add(slug, ConnectorKind(...))`.
"""

from __future__ import annotations

from churnradar.kit.registry import Registry
from churnradar.source.connectors.base import Chunk, Connector, ConnectorKind, Pull
from churnradar.source.connectors.folder import FOLDER
from churnradar.source.connectors.rest import REST
from churnradar.source.connectors.sql import SQL

CONNECTORS: Registry[ConnectorKind] = Registry("connector kind")
CONNECTORS.add("sql", SQL)
CONNECTORS.add("rest", REST)
CONNECTORS.add("folder", FOLDER)

__all__ = ["CONNECTORS", "Chunk", "Connector", "ConnectorKind", "Pull"]

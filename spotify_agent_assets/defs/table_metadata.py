"""Metadata of stored tables: the column schema their contract declares, previews, API calls.

A table's columns are declared once, in its ``TableContract``; ``contract_metadata`` turns that
into the asset's definition metadata, so the UI shows every column with its description before
the first materialization, and the lake IO manager checks each output against it and repeats
it, with the row count, on every materialization.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import dagster as dg

from spotify_agent_assets.lake.table_contract import TableContract, arrow_type, type_text

if TYPE_CHECKING:
    import pyarrow as pa

    from spotify_agent_assets.spotify.sync import Quarantined

PREVIEW_ROWS = 10
MARKDOWN_ROWS = 20  # rows of a Markdown table in the UI before "... and N more"
COLUMN_SCHEMA = "dagster/column_schema"


def column_schema(contract: TableContract) -> dg.TableSchema:
    """The contract as Dagster's column schema: Arrow's text of each type (what the stored
    Parquet says), the description, nullability, and the key as a table constraint."""
    key = ", ".join(contract.key)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=type_text(arrow_type(c.type)),
                description=c.description,
                constraints=dg.TableColumnConstraints(
                    nullable=c.nullable, unique=contract.key == (c.name,)
                ),
            )
            for c in contract.columns
        ],
        constraints=dg.TableConstraints(other=[f"key ({key}): unique, never null"]),
    )


def contract_metadata(contract: TableContract) -> dict[str, Any]:
    """Definition metadata of the asset that stores ``contract``'s table."""
    return {COLUMN_SCHEMA: dg.MetadataValue.table_schema(column_schema(contract))}


def preview_markdown(table: pa.Table) -> str:
    head = table.slice(0, PREVIEW_ROWS).to_pylist()
    if not head:
        return "_empty table_"
    names = table.column_names

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 60 else text[:57] + "..."

    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(cell(row[n]) for n in names) + " |" for row in head]
    return "\n".join(lines)


def api_metadata(*stats: Any) -> dict[str, Any]:
    """What the computation cost in Spotify calls, summed over its clients' ``ClientStats``."""
    by_endpoint: Counter[str] = Counter()
    for s in stats:
        by_endpoint.update(s.by_endpoint)
    return {
        "api_requests": dg.MetadataValue.int(sum(s.requests_sent for s in stats)),
        "api_token_requests": dg.MetadataValue.int(sum(s.token_requests for s in stats)),
        "api_retries": dg.MetadataValue.int(sum(s.retries for s in stats)),
        "api_rate_limited": dg.MetadataValue.int(sum(s.rate_limited for s in stats)),
        "api_calls_by_endpoint": dg.MetadataValue.json(dict(sorted(by_endpoint.items()))),
    }


def quarantine_metadata(quarantined: list[Quarantined]) -> dict[str, Any]:
    """Records a Spotify sync set aside: entity, id, the offending field and the reason."""
    rows = [
        dg.TableRecord(
            {"entity": q.entity, "entity_id": q.entity_id, "field": q.field, "reason": q.reason}
        )
        for q in quarantined
    ]
    return {
        "quarantined": dg.MetadataValue.int(len(quarantined)),
        "quarantined_records": dg.MetadataValue.table(
            rows,
            schema=dg.TableSchema(
                columns=[
                    dg.TableColumn("entity", "string"),
                    dg.TableColumn("entity_id", "string"),
                    dg.TableColumn("field", "string"),
                    dg.TableColumn("reason", "string"),
                ]
            ),
        ),
    }


def markdown_table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    """A Markdown table for metadata: the first `MARKDOWN_ROWS` rows, cells escaped."""
    from spotify_agent_assets.analytics.report_pages import markdown_escape

    if not rows:
        return empty
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += [
        "| " + " | ".join(markdown_escape(str(c)) for c in row) + " |"
        for row in rows[:MARKDOWN_ROWS]
    ]
    if len(rows) > MARKDOWN_ROWS:
        lines.append(f"\n… and {len(rows) - MARKDOWN_ROWS} more rows in the table.")
    return "\n".join(lines)

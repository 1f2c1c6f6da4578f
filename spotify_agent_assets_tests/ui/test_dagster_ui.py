"""The Dagster UI in a real browser (Chromium through Playwright), as a person uses it.

`dagster dev` runs on a small real deployment (``ui_world``), started as `make ui` starts it,
and every test clicks through the UI and then checks what it claims against the instance
(GraphQL) or the lake: the asset graph with each group's lineage, a daily partition launched from
an asset page, an asset page's metadata (column descriptions, a table preview, a chart), a failed
blocking check on its asset, and README's "Using the UI" walk-through step by step, whose
7-partition backfill must complete as a single run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spotify_agent_assets.defs.table_metadata import MARKDOWN_ROWS
from spotify_agent_assets_tests.ui.conftest import LOCATION, DagsterUi, save_screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RUN_SECONDS = 300
# The week README's walk-through backfills: the sample world's last seven days.
BACKFILL_RANGE = "[2026-10-25...2026-10-31]"
BACKFILL_DAYS = [f"2026-10-{day}" for day in range(25, 32)]
SINGLE_PARTITION = "2026-10-30"
GRAPH_VIEWPORT = {"width": 3000, "height": 3000}
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@pytest.fixture(scope="module")
def ui(dagster_ui: DagsterUi, browser: Any) -> DagsterUi:
    """The UI with its first-visit dialog (newsletter sign-up) dismissed with "Skip", as a new
    user does once; Dagster then remembers it for the instance."""
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{dagster_ui.url}/asset-groups")
    skip = tab.get_by_role("button", name="Skip")
    skip.click(timeout=60_000)
    skip.wait_for(state="hidden")
    context.close()
    return dagster_ui


def wait_until(what: str, probe: Callable[[], Any], seconds: float = RUN_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        time.sleep(2)


def asset_nodes(ui: DagsterUi) -> list[dict[str, Any]]:
    return ui.graphql(
        "{ assetNodes { assetKey { path } groupName"
        " dependencyKeys { path } dependedByKeys { path } } }"
    )["assetNodes"]


def run_status(ui: DagsterUi, run_id: str) -> dict[str, Any]:
    return ui.graphql(
        "query($id: ID!) { runOrError(runId: $id) { ... on Run { status"
        " tags { key value } assetMaterializations { assetKey { path } partition } } } }",
        {"id": run_id},
    )["runOrError"]


def open_asset_by_search(page: Any, ui: DagsterUi, name: str) -> None:
    """README's way to an asset: "Search" in the left bar, type its name, click the asset.

    Not Enter: it opens whatever ranks first while the results still match a shorter prefix of
    the name (``user`` found the resource ``spotify_user`` first). The result is found by its
    link, not its text: results highlight the matched part of longer names
    (``int_<stream_events>_attributed``), which an exact text match would take for the asset."""
    page.goto(ui.url)
    page.get_by_text("Search", exact=True).first.click()
    page.keyboard.type(name)
    page.locator(f'a[href$="/assets/{name}"], a[href*="/assets/{name}?"]').first.click()
    page.wait_for_url(re.compile(rf"/assets/{name}(\?.*)?$"))
    page.get_by_text("Metadata", exact=True).first.wait_for()


def show_markdown(page: Any, key: str) -> Any:
    """Open the "[Show Markdown]" dialog of the metadata entry ``key``; the dialog."""
    row = page.locator("tr").filter(has=page.get_by_text(key, exact=True))
    row.get_by_text("[Show Markdown]").first.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    return dialog


def close_dialog(page: Any) -> None:
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="hidden")


def markdown_rows(dialog: Any) -> list[dict[str, str]]:
    """The rows of the Markdown table shown in ``dialog``, by header."""
    headers = [h.strip() for h in dialog.locator("table th").all_inner_texts()]
    rows = []
    for row in dialog.locator("table tbody tr").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        rows.append(dict(zip(headers, cells, strict=True)))
    return rows


def test_asset_graph_shows_every_group_with_its_lineage(page: Any, ui: DagsterUi) -> None:
    nodes = asset_nodes(ui)
    group_of = {n["assetKey"]["path"][-1]: n["groupName"] for n in nodes}
    groups = sorted(set(group_of.values()))
    assert {"spotify", "spotify_history", "streams", "analytics", "ml", "audio"} <= set(groups)

    page.goto(f"{ui.url}/asset-groups")
    graph = page.locator("svg foreignObject")  # the nodes drawn, not the side bar's list
    for group in groups:  # the global lineage: one box per group
        graph.get_by_text(group, exact=True).first.wait_for()
    save_screenshot(page, "asset-lineage")

    # The graph draws only the nodes in view and shortens names when zoomed out: a screen
    # large enough for the biggest group at full size shows every name.
    page.set_viewport_size(GRAPH_VIEWPORT)

    for group in groups:
        members = {name for name, g in group_of.items() if g == group}
        # Its lineage: the assets of other groups it reads or feeds, drawn beside it.
        neighbours = {
            key["path"][-1]
            for n in nodes
            if n["groupName"] == group
            for key in n["dependencyKeys"] + n["dependedByKeys"]
        } - members
        page.goto(f"{ui.url}/locations/{LOCATION}/asset-groups/{group}")
        for name in sorted(members | neighbours):
            graph.get_by_text(name, exact=True).first.wait_for(state="attached")


def test_one_daily_partition_launched_from_the_ui_succeeds(page: Any, ui: DagsterUi) -> None:
    page.goto(f"{ui.url}/assets/artist_snapshots")
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize")).first.click()
    dialog = page.get_by_role("dialog")
    selection = dialog.locator("input[type=text]").first
    selection.fill(SINGLE_PARTITION)
    selection.press("Enter")
    dialog.get_by_text("1 partition", exact=True).wait_for()
    dialog.get_by_role("button", name="Launch 1 run").click()
    dialog.wait_for(state="hidden")

    run_id = wait_until("the launched run", lambda: _ui_run_for_partition(ui, SINGLE_PARTITION))
    page.goto(f"{ui.url}/runs/{run_id}")
    page.get_by_text("Success", exact=True).first.wait_for(timeout=RUN_SECONDS * 1000)
    save_screenshot(page, "run-success")

    run = run_status(ui, run_id)
    assert run["status"] == "SUCCESS"
    written = {(m["assetKey"]["path"][-1], m["partition"]) for m in run["assetMaterializations"]}
    assert written == {("artist_snapshots", SINGLE_PARTITION)}


def _ui_run_for_partition(ui: DagsterUi, partition: str) -> str | None:
    runs = ui.graphql(
        "query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {"
        " ... on Runs { results { runId } } } }",
        {
            "tags": [
                {"key": "dagster/partition", "value": partition},
                {"key": "dagster/from_ui", "value": "true"},
            ]
        },
    )["runsOrError"]["results"]
    assert len(runs) <= 1, f"one click launched {len(runs)} runs"
    return runs[0]["runId"] if runs else None


def test_an_asset_page_shows_columns_preview_and_chart(page: Any, ui: DagsterUi) -> None:
    from spotify_agent_assets.analytics.tables import ARTIST_TRENDS

    page.goto(f"{ui.url}/assets/artist_trends")
    page.get_by_text("Column name", exact=True).first.wait_for()
    for column in ARTIST_TRENDS.columns:
        page.get_by_text(column.description, exact=True).first.wait_for()

    preview = markdown_rows(show_markdown(page, "preview"))
    assert preview, "the preview table is empty"
    assert {"artist_id", "date", "trend_status"} <= set(preview[0])
    close_dialog(page)

    chart = show_markdown(page, "streams_chart").locator("img").first
    assert chart.get_attribute("src").startswith("data:image/svg+xml")
    assert chart.evaluate("img => img.complete && img.naturalWidth") > 0  # decoded, drawn
    save_screenshot(page, "asset-chart")


def test_a_failed_blocking_check_is_visible_on_its_asset(page: Any, ui: DagsterUi) -> None:
    page.goto(f"{ui.url}/assets/spotify_playlists")
    page.get_by_text("Checks", exact=True).first.click()
    page.get_by_text("key_unique_not_null", exact=True).first.click()
    page.get_by_text("This is a blocking asset check.").wait_for()
    page.get_by_text("Failed", exact=True).first.wait_for()
    page.get_by_text("key (playlist_id) violated").first.wait_for()
    save_screenshot(page, "failed-check")
    page.get_by_text("[Show JSON]").first.click()
    examples = page.get_by_role("dialog")
    assert ui.world.duplicate_playlist_id in examples.inner_text()


def test_readme_walk_through_report_recommendations_and_a_single_run_backfill(
    page: Any, ui: DagsterUi
) -> None:
    from spotify_agent_assets.lake import ParquetLake

    lake = ParquetLake(str(ui.world.data_dir / "lake"))

    # 1. The weekly artist report of an artist: its row in report_paths, then the HTML file.
    open_asset_by_search(page, ui, "weekly_artist_report")
    reports = markdown_rows(show_markdown(page, "report_paths"))
    # The table lists every artist (long ones are cut with "... and N more rows"): the first.
    row = reports[0]
    index = lake.read("analytics", "weekly_artist_report").to_pylist()
    (artist,) = [r for r in index if row["artist"] in (r["artist_name"], r["artist_id"])]
    assert row["html"] == artist["html_uri"]
    assert len(reports) == min(len(index), MARKDOWN_ROWS)
    save_screenshot(page, "weekly-report-paths")
    close_dialog(page)
    page.goto(Path(row["html"]).as_uri())
    page.get_by_text(artist["artist_name"]).first.wait_for()

    # 2. A listener's recommendations: the preview of user_recommendations.
    open_asset_by_search(page, ui, "user_recommendations")
    shown = markdown_rows(show_markdown(page, "preview"))
    save_screenshot(page, "user-recommendations")
    close_dialog(page)
    # The preview cuts cells at 60 characters; a 64-hex pseudonym shows as its prefix and "...".
    prefix = shown[0]["listener_key"].removesuffix("...")
    stored = [
        r
        for r in lake.read("ml", "user_recommendations").to_pylist()
        if r["listener_key"].startswith(prefix)
    ]
    assert len({r["listener_key"] for r in stored}) == 1, f"{prefix} names no single listener"
    stored.sort(key=lambda r: r["rank"])
    mine = [r for r in shown if r["listener_key"] == shown[0]["listener_key"]]
    assert [r["track_id"] for r in mine] == [r["track_id"] for r in stored[: len(mine)]]
    assert [int(r["rank"]) for r in mine] == list(range(1, len(mine) + 1))

    # 3. A backfill of a week of listening events, as one run.
    open_asset_by_search(page, ui, "stream_events")
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize")).first.click()
    page.get_by_role("button", name="Confirm").click()  # stream_quarantine: the same step
    dialog = page.get_by_role("dialog").filter(has_text="Partition selection")
    selection = dialog.locator("input[type=text]").first
    selection.fill(BACKFILL_RANGE)
    selection.press("Enter")
    dialog.get_by_text("7 partitions", exact=True).wait_for()
    save_screenshot(page, "backfill-dialog")
    known = {b["id"] for b in backfills(ui)}
    dialog.get_by_role("button", name="Launch backfill").click()
    dialog.wait_for(state="hidden")

    backfill = wait_until("the backfill", lambda: _finished_backfill(ui, known))
    assert backfill["partitionNames"] == BACKFILL_DAYS
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    assert backfill["numPartitions"] == 7
    assert len(backfill["runs"]) == 1, f"{len(backfill['runs'])} runs for one backfill"
    (run,) = backfill["runs"]
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert (tags[RANGE_START], tags[RANGE_END]) == (BACKFILL_DAYS[0], BACKFILL_DAYS[-1])
    written = {
        (m["assetKey"]["path"][-1], m["partition"])
        for m in run_status(ui, run["runId"])["assetMaterializations"]
    }
    assert {("stream_events", day) for day in BACKFILL_DAYS} <= written

    page.get_by_text("Runs", exact=True).first.click()
    page.get_by_text("Backfills", exact=True).first.click()
    page.get_by_role("link", name=backfill["id"]).click()
    page.get_by_text(re.compile(r"^2026-10-25(\.\.\.|…)2026-10-31$")).first.wait_for()
    status = page.get_by_text("Status", exact=True).first.locator("xpath=..")
    status.get_by_text("Succeeded", exact=True).wait_for()
    save_screenshot(page, "backfill-completed")
    page.get_by_text("Runs", exact=True).last.click()  # the backfill's tab, after the menu's
    page.get_by_text(run["runId"][:8], exact=True).first.wait_for()


def backfills(ui: DagsterUi) -> list[dict[str, Any]]:
    return ui.graphql(
        "{ partitionBackfillsOrError { ... on PartitionBackfills { results { id status"
        " numPartitions partitionNames tags { key value }"
        " runs(limit: 50) { runId status tags { key value } } } } } }"
    )["partitionBackfillsOrError"]["results"]


def _finished_backfill(ui: DagsterUi, known: set[str]) -> dict[str, Any] | None:
    new = [b for b in backfills(ui) if b["id"] not in known]
    assert len(new) <= 1, f"one launch, {len(new)} backfills: {new}"
    if not new or new[0]["status"] in {"REQUESTED", "CANCELING"}:
        return None
    return new[0]

{#- The run window of the daily models: the one row of table dbt_run.run_window (min_date,
    max_date: inclusive days) in the warehouse. Dagster writes it under the warehouse writer lock
    before dbt starts and clears it when dbt has exited (analytics_dbt.run_window); by hand:

        dbt run-operation set_run_window --args '{min_date: 2026-10-03, max_date: 2026-10-03}'
        dbt build --select tag:daily
        dbt run-operation clear_run_window

    A table, not dbt vars: vars are an input of dbt's parse, so a window passed with --vars made
    every hourly run re-parse the whole project. The window is read when a node is compiled, so
    the SQL dbt runs holds literal dates (partition pruning needs constants, not a subquery).
    Without a row (or while parsing) every day is in the window. -#}

{% macro run_window_relation() -%}
    dbt_run.run_window
{%- endmacro %}


{% macro run_window() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if var('min_date', none) is not none or var('max_date', none) is not none -%}
        {{ exceptions.raise_compiler_error(
            "the run window is no longer passed as vars min_date/max_date (they made every run "
            ~ "re-parse the project): use dbt run-operation set_run_window --args "
            ~ "'{min_date: YYYY-MM-DD, max_date: YYYY-MM-DD}'") }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from information_schema.tables "
        ~ "where table_schema = 'dbt_run' and table_name = 'run_window'") -%}
    {%- if found.rows[0][0] == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query("select min_date, max_date from " ~ run_window_relation()).rows -%}
    {%- if rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if rows | length > 1 or rows[0][0] is none or rows[0][1] is none
        or rows[0][0] > rows[0][1] -%}
        {{ exceptions.raise_compiler_error(
            run_window_relation() ~ " must hold one row with min_date <= max_date; it holds "
            ~ rows | map('list') | list ~ " (dbt run-operation clear_run_window resets it)") }}
    {%- endif -%}
    {{ return([rows[0][0], rows[0][1]]) }}
{%- endmacro %}


{#- A SQL predicate: column lies in the run window (always true without a window). A full
    refresh recreates the table, so it builds every day: restricted to the window it would drop
    every day outside it. -#}
{% macro in_run_window(column) -%}
    {%- set window = run_window() -%}
    {%- if window is none or flags.FULL_REFRESH -%}
        true
    {%- else -%}
        {{ column }} between date '{{ window[0].isoformat() }}' and date '{{ window[1].isoformat() }}'
    {%- endif -%}
{%- endmacro %}


{#- A SQL predicate: column is on or after the first day of the run window (always true without
    one). For what a day's events can change on later days too, such as the day a listener was
    first seen on a track. -#}
{% macro from_run_window_start(column) -%}
    {%- set window = run_window() -%}
    {%- if window is none or flags.FULL_REFRESH -%}
        true
    {%- else -%}
        {{ column }} >= date '{{ window[0].isoformat() }}'
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of the daily models: before delete+insert, remove every day of the window from the
    existing table, so a day that has lost all its events (GDPR erasure, re-ingestion) does not
    keep its old rows; delete+insert alone only replaces the days the new rows contain. -#}
{% macro delete_run_window(column='date') -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_run_window(column) }}
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of a model whose rows for a day depend on the days before it (the day a listener
    was first seen): a run removes every row from the window's first day on and builds them
    again. -#}
{% macro delete_from_run_window_start(column='date') -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ from_run_window_start(column) }}
    {%- endif -%}
{%- endmacro %}


{#- A test reads only the run window's days of a model that has a `date` column: dbt_project.yml
    gives every test where: "__run_window__", replaced here, when the test runs, by
    in_run_window('date') for such a model and by true for any other (dim_track, or
    track_performance, rebuilt whole). For the daily models the window is the run's partitions;
    for the views over the daily sources (stg_stream_events, ...) it is the days those sources
    wrote since the unpartitioned step last ran (defs/analytics/dbt_window.py). dbt renders a
    test's `where` when it parses, without the project's macros and before any window exists,
    hence a marker (dbt's documented way to template `where` with macros: override this macro). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- if '__run_window__' in where -%}
        {%- set by_day = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type in ('model', 'snapshot') and 'date' in node.columns -%}
                {%- do by_day.append((node.schema | lower, node.alias | lower)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set has_days = ((relation.schema or '') | lower, (relation.identifier or '') | lower) in by_day -%}
        {%- set where = where.replace('__run_window__', in_run_window('date') if has_days else 'true') -%}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}


{#- dbt run-operation set_run_window --args '{min_date: ..., max_date: ...}': the window for the
    daily models of the next dbt commands (Dagster does the same before each run). -#}
{% macro set_run_window(min_date, max_date) -%}
    {%- set bounds = [] -%}
    {%- for name, value in [('min_date', min_date), ('max_date', max_date)] -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value | string) -%}
            {{ exceptions.raise_compiler_error(
                "set_run_window: " ~ name ~ " must be a date as YYYY-MM-DD, got " ~ value) }}
        {%- endif -%}
        {%- do bounds.append(modules.datetime.date.fromisoformat(value | string)) -%}
    {%- endfor -%}
    {%- if bounds[0] > bounds[1] -%}
        {{ exceptions.raise_compiler_error(
            "set_run_window: min_date " ~ min_date ~ " is after max_date " ~ max_date) }}
    {%- endif -%}
    {%- call statement('set_run_window') -%}
        create schema if not exists dbt_run;
        create or replace table {{ run_window_relation() }} as
        select date '{{ bounds[0].isoformat() }}' as min_date,
               date '{{ bounds[1].isoformat() }}' as max_date
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ log("run window " ~ bounds[0] ~ " .. " ~ bounds[1], info=true) }}
{%- endmacro %}


{#- dbt run-operation clear_run_window: back to every day. -#}
{% macro clear_run_window() -%}
    {%- call statement('clear_run_window') -%}
        drop table if exists {{ run_window_relation() }}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ log("run window cleared: the daily models build every day", info=true) }}
{%- endmacro %}

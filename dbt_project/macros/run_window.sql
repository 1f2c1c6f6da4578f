{#- The run window of the daily models: dbt vars min_date / max_date, inclusive ISO dates.
    Dagster passes both for a partitioned run; with neither, every day is in the window. -#}

{% macro run_window() -%}
    {%- set min_date = var('min_date', none) -%}
    {%- set max_date = var('max_date', none) -%}
    {%- if min_date is none and max_date is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if min_date is none or max_date is none -%}
        {{ exceptions.raise_compiler_error(
            "pass both vars min_date and max_date (inclusive YYYY-MM-DD dates) or neither; got min_date="
            ~ min_date ~ ", max_date=" ~ max_date) }}
    {%- endif -%}
    {%- set bounds = [] -%}
    {%- for name, value in [('min_date', min_date), ('max_date', max_date)] -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value | string) -%}
            {{ exceptions.raise_compiler_error(
                "var " ~ name ~ " must be a date as YYYY-MM-DD, got " ~ value) }}
        {%- endif -%}
        {%- do bounds.append(modules.datetime.date.fromisoformat(value | string)) -%}
    {%- endfor -%}
    {%- if bounds[0] > bounds[1] -%}
        {{ exceptions.raise_compiler_error(
            "var min_date " ~ min_date ~ " is after max_date " ~ max_date) }}
    {%- endif -%}
    {{ return(bounds) }}
{%- endmacro %}


{#- A SQL predicate: column lies in the run window (always true without a window). -#}
{% macro in_run_window(column) -%}
    {%- set window = run_window() -%}
    {%- if window is none -%}
        true
    {%- else -%}
        {{ column }} between date '{{ window[0].isoformat() }}' and date '{{ window[1].isoformat() }}'
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

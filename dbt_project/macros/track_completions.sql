{#- The tracks int_track_completions_daily must count again on every day: their stored
    duration is no longer the one dim_track gives (a remaster, a track added to or gone from the
    catalogue). Read when the model compiles, before its pre-hook deletes anything; none on a
    first build or a full refresh, which count every day anyway. -#}
{% macro completions_recount_tracks() -%}
    {%- if not execute or flags.FULL_REFRESH or not is_incremental() -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set changed -%}
        select distinct daily.track_id
        from {{ this }} as daily
        left join {{ ref('dim_track') }} as track on track.track_id = daily.track_id
        where daily.duration_ms is distinct from track.duration_ms
        order by 1
    {%- endset -%}
    {{ return(run_query(changed).columns[0].values() | list) }}
{%- endmacro %}


{#- Pre-hook of int_track_completions_daily: the run window's days, and every day of the tracks
    counted again. -#}
{% macro delete_completions_to_count(column='date') -%}
    {%- if is_incremental() -%}
        {%- set recount = completions_recount_tracks() -%}
        delete from {{ this }} where {{ in_run_window(column) }}
        {%- if recount %} or track_id in ({{ sql_string_list(recount) }}){% endif %}
    {%- endif -%}
{%- endmacro %}


{#- values as a comma-separated list of SQL string literals. -#}
{% macro sql_string_list(values) -%}
    {%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

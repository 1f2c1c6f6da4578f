{#- A SQL predicate: the UTC day in `column` had ended when the row was built. The current date
    is taken in UTC explicitly: DuckDB's current_date follows the session time zone, which is the
    machine's (a build at 23:00 UTC in Berlin would call today complete). -#}
{% macro is_complete_day(column) -%}
    {{ column }} < (now() at time zone 'UTC')::date
{%- endmacro %}

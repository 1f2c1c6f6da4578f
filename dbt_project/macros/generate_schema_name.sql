{#- Schemas are exactly the configured names (staging, analytics), not dbt's default
    <target schema>_<custom schema>: the warehouse contract is <schema>.<table>. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

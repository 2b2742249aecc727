"""Pipeline stages: plain typed functions first, thin Prefect task wrappers last in each module."""
